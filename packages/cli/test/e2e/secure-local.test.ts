// Issue #10: TLS, mutual TLS and client authentication together, on three real `dlock server`
// processes started the way `pnpm start:secure` starts them (prepareSecureLocal and
// secureLocalClusterOptions from secure-local.ts, the same calls start-local.ts makes). The
// worker's token locks jobs/* only; no token is UNAUTHENTICATED; no CA cannot connect; a client
// certificate is its CN's principal; the admin token lists members and force-releases; the
// command line that `start:secure` prints works as printed.
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterUnavailableError, Locker, UnauthenticatedError } from "@dlock/client";
import type { LockerOptions } from "@dlock/client";
import {
  prepareSecureLocal,
  secureLocalClientEnv,
  secureLocalClusterOptions,
  secureLocalUsageLines,
} from "@dlock/tools";
import type { SecureLocalFiles } from "@dlock/tools";
import { createCertificateAuthority } from "../../src/certs/dev-certificates.js";
import { runInProcess } from "../support/run-in-process.js";
import { startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";

/** Long enough that no lease here expires while the test looks at it. */
const TTL_MS = 60_000;

let root: string;
let files: SecureLocalFiles;
let test: TestCluster;
let ca: string;
const lockers: Locker[] = [];

function locker(options: Partial<LockerOptions>): Locker {
  const created = new Locker({
    endpoints: test.cluster.endpoints(),
    unavailableTimeoutMs: 20_000,
    ...options,
  });
  lockers.push(created);
  return created;
}

async function tokenOf(principal: string): Promise<string> {
  return (await readFile(files.tokenFiles[principal], "utf8")).trim();
}

/** Runs `dlock <args>` in this process with these environment variables set meanwhile. */
async function dlockWithEnv(env: Record<string, string>, args: string[]) {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await runInProcess([...args, "--endpoints", test.cluster.endpoints().join(",")]);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dlock-e2e-secure-local-files-"));
  files = await prepareSecureLocal(root, ["n1", "n2", "n3"]);
  ca = await readFile(files.ca, "utf8");
  const options = secureLocalClusterOptions(files);
  test = await startTestCluster("secure-local", {
    ...options,
    extraArgs: ["--shutdown-timeout", "1s", ...options.extraArgs],
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(lockers.map((l) => l.close()));
  await test?.dispose();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe("prepareSecureLocal", () => {
  it("keeps tokens and keys readable by the owner only, and reuses everything on a second run", async () => {
    for (const file of [files.authFile, ...Object.values(files.tokenFiles)]) {
      expect(((await stat(file)).mode & 0o777).toString(8), file).toBe("600");
    }
    expect(((await stat(files.clientCerts.worker.key)).mode & 0o777).toString(8)).toBe("600");
    const before = {
      auth: await readFile(files.authFile, "utf8"),
      admin: await tokenOf("admin"),
      ca,
    };
    const again = await prepareSecureLocal(root, ["n1", "n2", "n3"]);
    expect(again.made).toEqual([]);
    expect({
      auth: await readFile(again.authFile, "utf8"),
      admin: (await readFile(again.tokenFiles.admin, "utf8")).trim(),
      ca: await readFile(again.ca, "utf8"),
    }).toEqual(before);
  });
});

describe("the start:secure cluster", () => {
  it("lets the worker token lock jobs/* and refuses it billing/* with PERMISSION_DENIED", async () => {
    const worker = locker({ tls: { ca }, authToken: await tokenOf("worker") });
    const grant = await worker.acquire("jobs/x", "w1", { ttl: TTL_MS });
    expect(grant.fencingToken).toBeGreaterThan(0);
    await expect(worker.acquire("billing/x", "w1", { ttl: TTL_MS })).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
      operation: "acquire",
      key: "billing/x",
    });
    expect(await worker.get("billing/x")).toMatchObject({ held: false });
    expect(await worker.release("jobs/x", "w1", { token: grant.fencingToken })).toEqual({
      released: true,
    });
  });

  it("refuses a client with the CA and no token with UNAUTHENTICATED", async () => {
    const anonymous = locker({ tls: { ca } });
    await expect(anonymous.status()).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(anonymous.acquire("jobs/y", "v", { ttl: TTL_MS })).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
  });

  it("does not let a client without the CA connect, even with a valid token", async () => {
    const token = await tokenOf("admin");
    const otherCa = await createCertificateAuthority("not the cluster's CA");
    const withoutCa: Array<[string, Partial<LockerOptions>, RegExp]> = [
      ["plain TCP", { authToken: token }, /give --tls-ca/],
      [
        "TLS trusting another CA",
        { tls: { ca: otherCa.cert }, authToken: token },
        /does not verify against the given CA/,
      ],
    ];
    for (const [name, options, message] of withoutCa) {
      const refused = locker({ ...options, unavailableTimeoutMs: 2_000 });
      const error = await refused.status().then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error, name).toBeInstanceOf(ClusterUnavailableError);
      expect((error as Error).message, name).toMatch(message);
    }
  });

  it("authorizes a client certificate as the principal its CN names", async () => {
    const cert = async (name: string) => ({
      cert: await readFile(files.clientCerts[name].cert, "utf8"),
      key: await readFile(files.clientCerts[name].key, "utf8"),
    });
    // CN=worker, no token: the worker's grants, not more.
    const worker = locker({ tls: { ca, ...(await cert("worker")) } });
    const grant = await worker.acquire("jobs/by-cert", "c1", { ttl: TTL_MS });
    await expect(worker.acquire("billing/by-cert", "c1", { ttl: TTL_MS })).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
    });
    expect((await worker.members()).members).toHaveLength(3);
    await expect(worker.forceRelease("jobs/by-cert")).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
    });
    // CN=admin, no token: the admin's grants (what the worker was just refused).
    const admin = locker({ tls: { ca, ...(await cert("admin")) } });
    expect(await admin.forceRelease("jobs/by-cert")).toEqual({
      released: true,
      fencingToken: grant.fencingToken,
    });
    expect(await worker.get("jobs/by-cert")).toMatchObject({ held: false });
  });

  it("lets the admin token list the members and force-release another principal's lock", async () => {
    const worker = locker({ tls: { ca }, authToken: await tokenOf("worker") });
    const grant = await worker.acquire("jobs/stuck", "crashed-runner", { ttl: TTL_MS });
    const admin = locker({ tls: { ca }, authToken: await tokenOf("admin") });
    const { members } = await admin.members();
    expect(members.map((m) => m.id).sort()).toEqual(["n1", "n2", "n3"]);
    expect(await admin.forceRelease("jobs/stuck")).toEqual({
      released: true,
      fencingToken: grant.fencingToken,
    });
    expect(await admin.get("jobs/stuck")).toMatchObject({ held: false });
  });

  it("works with the command lines start:secure prints", async () => {
    const lines = secureLocalUsageLines(files, "dlock");
    const adminEnv = secureLocalClientEnv(files, "admin");
    const printed = `${Object.entries(adminEnv)
      .map(([name, value]) => `${name}=${value}`)
      .join(" ")} dlock status`;
    expect(lines.map((l) => l.trim())).toContain(printed);
    expect(Object.keys(adminEnv).sort()).toEqual(["DLOCK_AUTH_TOKEN_FILE", "DLOCK_TLS_CA"]);

    const status = await dlockWithEnv(adminEnv, ["status"]);
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^leader: n[123]/);
    // Without the token file the same line is refused (exit 6, UNAUTHENTICATED).
    const noToken = await dlockWithEnv({ DLOCK_TLS_CA: files.ca }, ["status"]);
    expect(noToken.stderr).toContain("requires credentials");
    expect(noToken.code).toBe(6);
  });
});
