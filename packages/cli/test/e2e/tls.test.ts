// Issue 10 (TLS): real `dlock server` processes with certificates from the cert tool. A client
// with the cluster CA locks over TLS; a wrong CA or plain TCP is refused with a clear error. On
// the peer port, a dialer without a certificate is refused by TLS, and a valid certificate of
// another node or of a client that claims to be a member is refused (HANDSHAKE_FAILED, reason
// nodeId, logged once) while the real member stays connected and the leader stays. SIGHUP loads
// a new certificate. On a plain loopback cluster, a forged hello's clientAddress never becomes a
// NOT_LEADER hint.
import { readFile, rm, writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterUnavailableError, Locker } from "@dlock/client";
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueNodeCertificate,
  writeDevCertificates,
} from "../../src/certs/dev-certificates.js";
import { startTestCluster, TTL_FLOOR_MS } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { clientHello, peerHello, RawConnection } from "./support/raw-connection.js";
import { waitFor } from "./support/wait.js";

const CLUSTER_ID = "dlock-local";

let certsDir: string;
let secure: TestCluster;
let ca: string;

beforeAll(async () => {
  certsDir = await mkdtemp(join(tmpdir(), "dlock-e2e-certs-"));
  await writeDevCertificates({
    dir: certsDir,
    nodes: ["n1", "n2", "n3", "n4"],
    clients: ["alice"],
  });
  ca = await readFile(join(certsDir, "ca.pem"), "utf8");
  secure = await startTestCluster("tls", { tlsCertsDir: certsDir });
}, 120_000);

afterAll(async () => {
  await secure?.dispose();
  if (certsDir !== undefined) await rm(certsDir, { recursive: true, force: true });
});

async function logOf(id: string): Promise<string> {
  return readFile(secure.cluster.node(id).logFile, "utf8");
}

describe("a TLS cluster of real processes", () => {
  it("serves a client with the cluster CA and refuses a wrong CA or plain TCP with a clear error", async () => {
    const endpoints = secure.cluster.endpoints();
    const locker = new Locker({ endpoints, tls: { ca } });
    try {
      const grant = await locker.acquire("tls-job", "alice", { ttl: 2 * TTL_FLOOR_MS });
      expect(grant.fencingToken).toBeGreaterThan(0);
      expect(await locker.get("tls-job")).toMatchObject({ held: true, value: "alice" });
      await locker.release("tls-job", "alice");
    } finally {
      await locker.close();
    }

    const otherCa = await createCertificateAuthority("someone else's CA");
    const refusals: Array<[string, Locker, RegExp]> = [
      [
        "a client trusting another CA",
        new Locker({ endpoints, tls: { ca: otherCa.cert }, unavailableTimeoutMs: 2_000 }),
        /does not verify against the given CA/,
      ],
      [
        "a plain-TCP client",
        new Locker({ endpoints, unavailableTimeoutMs: 2_000 }),
        /if the cluster runs TLS, give --tls-ca/,
      ],
    ];
    for (const [name, refused, message] of refusals) {
      try {
        const error = await refused.get("tls-job").then(
          () => null,
          (caught: unknown) => caught,
        );
        expect(error, name).toBeInstanceOf(ClusterUnavailableError);
        expect((error as Error).message, name).toMatch(message);
      } finally {
        await refused.close();
      }
    }
  });

  it("refuses forged peers: no certificate, or a valid one that is not the claimed member's", async () => {
    const leader = await secure.cluster.waitForLeader(30_000);
    const before = await secure.cluster.status(leader);
    const claimed = secure.cluster.nodes.find((node) => node.id !== leader)!.id;
    const target = secure.cluster.node(leader);

    // Plain TCP, and TLS without a certificate: refused before any hello is read.
    const plain = await RawConnection.open(target.peerAddress);
    plain.sendFrame(peerHello(CLUSTER_ID, claimed));
    expect(await plain.refusal()).toEqual({ error: null, closed: true });
    const anonymous = await RawConnection.openTls(target.peerAddress, { ca }).catch(() => null);
    if (anonymous !== null) {
      anonymous.sendFrame(peerHello(CLUSTER_ID, claimed));
      expect(await anonymous.refusal()).toEqual({ error: null, closed: true });
    }

    // The genuine certificate of node n4 (not a member) and a client's, both claiming `claimed`.
    const impostors = [
      {
        key: await readFile(join(certsDir, "n4-key.pem")),
        cert: await readFile(join(certsDir, "n4.pem")),
      },
      {
        key: await readFile(join(certsDir, "client-alice-key.pem")),
        cert: await readFile(join(certsDir, "client-alice.pem")),
      },
    ];
    for (const credentials of impostors) {
      const forged = await RawConnection.openTls(target.peerAddress, { ca, ...credentials });
      forged.sendFrame(peerHello(CLUSTER_ID, claimed, { clientAddress: "203.0.113.9:7001" }));
      expect(await forged.refusal()).toMatchObject({
        error: { code: "HANDSHAKE_FAILED", reason: "nodeId" },
        closed: true,
      });
    }

    // The real member stays and the leader stays: same leader, same term, the member's address
    // as it gave it (not the impostors'); a client still locks.
    const after = await secure.cluster.status(leader);
    expect(after).toMatchObject({ role: "leader", term: before!.term });
    expect(after!.members.find((member) => member.id === claimed)).toMatchObject({
      clientAddress: secure.cluster.node(claimed).clientAddress,
    });
    // Health follows heartbeats: on a loaded machine the member may miss one now and then, so
    // the leader must see it healthy again, not at this very instant.
    await waitFor(`${claimed} healthy as the leader sees it`, async () => {
      const status = await secure.cluster.status(leader);
      return status?.members.find((member) => member.id === claimed)?.healthy === true;
    });
    const locker = new Locker({ endpoints: secure.cluster.endpoints(), tls: { ca } });
    try {
      await locker.acquire("after-forgery", "v", { ttl: 2 * TTL_FLOOR_MS });
    } finally {
      await locker.close();
    }

    // Logged once, however many tries (the lines reach the log file through a pipe: wait).
    const refusals = async () =>
      (await logOf(leader)).split("\n").filter((line) => line.includes("but the certificate"));
    await waitFor("the refusal logged", async () => (await refusals()).length > 0);
    const lines = await refusals();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("HANDSHAKE_FAILED");
  });

  it("loads a new certificate on SIGHUP and keeps the old one when the new file is bad", async () => {
    const node = secure.cluster.node("n1");
    const certFile = join(certsDir, "n1.pem");
    const keyFile = join(certsDir, "n1-key.pem");
    const serialSeen = async (): Promise<string> => {
      const connection = await RawConnection.openTls(node.clientAddress, { ca });
      const serial = connection.peerCertificate().serialNumber;
      connection.close();
      return serial;
    };
    const oldSerial = await serialSeen();
    expect(oldSerial).toBe(new X509Certificate(await readFile(certFile)).serialNumber);

    // A broken certificate file: the reload fails, is logged, and the old certificate stays.
    const original = await readFile(certFile, "utf8");
    await writeFile(certFile, "not a certificate");
    secure.cluster.signal("n1", "SIGHUP");
    await waitFor("the failed reload logged", async () =>
      (await logOf("n1")).includes("TLS reload failed"),
    );
    expect(await serialSeen()).toBe(oldSerial);
    await writeFile(certFile, original);

    // A new certificate and key from the same CA.
    const authority = await import("../../src/certs/dev-certificates.js");
    const loaded = await authority.loadCertificateAuthority(
      ca,
      await readFile(join(certsDir, "ca-key.pem"), "utf8"),
    );
    const fresh = await issueNodeCertificate(loaded, "n1");
    await writeFile(keyFile, fresh.key);
    await writeFile(certFile, fresh.cert);
    const newSerial = new X509Certificate(fresh.cert).serialNumber;
    expect(newSerial).not.toBe(oldSerial);
    secure.cluster.signal("n1", "SIGHUP");
    await waitFor("the new certificate served", async () => (await serialSeen()) === newSerial);
    // The log line is written after the new context serves (the logger flushes asynchronously).
    await waitFor("the reload logged", async () =>
      (await logOf("n1")).includes("reloaded the TLS certificate"),
    );
    // The peer port too (a member's certificate is needed to get through its mutual TLS).
    const peer = await RawConnection.openTls(node.peerAddress, {
      ca,
      key: await readFile(join(certsDir, "n4-key.pem")),
      cert: await readFile(join(certsDir, "n4.pem")),
    });
    expect(peer.peerCertificate().serialNumber).toBe(newSerial);
    peer.close();
    // And the cluster still works with n1 on its new certificate.
    const locker = new Locker({ endpoints: [node.clientAddress], tls: { ca } });
    try {
      await locker.acquire("after-rotation", "v", { ttl: 2 * TTL_FLOOR_MS });
    } finally {
      await locker.close();
    }
  });
});

describe("a plain loopback cluster", () => {
  let plain: TestCluster;
  beforeAll(async () => {
    plain = await startTestCluster("tls-plain");
  }, 120_000);
  afterAll(async () => {
    await plain?.dispose();
  });

  it("never redirects clients to a clientAddress from a forged peer hello", async () => {
    const leader = await plain.cluster.waitForLeader(30_000);
    const follower = plain.cluster.nodes.find((node) => node.id !== leader)!;
    const forged = await RawConnection.open(follower.peerAddress);
    forged.sendFrame(peerHello(CLUSTER_ID, leader, { clientAddress: "203.0.113.9:7001" }));
    // Over plain TCP the hello itself cannot be told from the real one: it is answered.
    const answer = await forged.next();
    expect(answer).toMatchObject({ kind: "frame", body: { type: "hello", nodeId: follower.id } });

    const client = await RawConnection.open(follower.clientAddress);
    client.sendFrame(clientHello({ clusterId: CLUSTER_ID }));
    expect(await client.next()).toMatchObject({ kind: "frame", body: { type: "hello" } });
    client.sendFrame({
      type: "acquire",
      id: 1,
      key: "redirected",
      value: "v",
      ttlMs: 2 * TTL_FLOOR_MS,
      requestId: "forged-hint-1",
    });
    const reply = await client.answer(1);
    expect(reply).toMatchObject({
      type: "error",
      error: {
        code: "NOT_LEADER",
        leaderHint: { id: leader, clientAddress: plain.cluster.node(leader).clientAddress },
      },
    });
    forged.close();
    client.close();
  });
});

// Keep the imports of the certificate helpers used (client certificates are made above by
// writeDevCertificates; this checks the issuing function on its own).
it("issues a client certificate that names the client and no node", async () => {
  const authority = await createCertificateAuthority();
  const pair = await issueClientCertificate(authority, "alice");
  const certificate = new X509Certificate(pair.cert);
  expect(certificate.subject).toBe("CN=alice");
  expect(certificate.subjectAltName).toBe("URI:dlock://client/alice");
  expect(certificate.verify(new X509Certificate(authority.cert).publicKey)).toBe(true);
});
