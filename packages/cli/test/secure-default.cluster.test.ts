// Secure by default (issue 10): a `dlock server` refuses a non-loopback address without TLS
// unless --insecure (DLOCK_INSECURE), which starts it with a warning; --peer defaults to this
// node's --cluster address; `dlock certs init` writes node and client certificates (keys 0600)
// and a server refuses a certificate that is not its own node's.
import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { DLOCK_BIN, freePorts } from "@dlock/tools";
import { cleanEnvironment, runDlock } from "./support/cluster.js";
import { waitFor } from "./support/processes.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dlock-secure-default-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function serverArgs(name: string): Promise<{ args: string[]; peer: number; client: number }> {
  const [peer, client] = await freePorts(2);
  return {
    peer,
    client,
    args: [
      "server",
      "--id",
      "n1",
      "--data",
      join(root, name),
      "--cluster",
      `n1=127.0.0.1:${peer}`,
      "--http",
      "off",
      "--no-fsync",
    ],
  };
}

describe("dlock server without TLS", () => {
  it("refuses a non-loopback client address, naming the flag and the way out", async () => {
    const { args, client } = await serverArgs("refused");
    const result = await runDlock([...args, "--client", `0.0.0.0:${client}`], cleanEnvironment());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--client 0.0.0.0:${client} is not a loopback address`);
    expect(result.stderr).toContain("--tls-cert");
    expect(result.stderr).toContain("--insecure");
    expect(existsSync(join(root, "refused"))).toBe(false);
  });

  it("starts with DLOCK_INSECURE=1, warns, and listens for peers at its --cluster address", async () => {
    const { args, client, peer } = await serverArgs("insecure");
    const child = spawn(process.execPath, [DLOCK_BIN, ...args, "--client", `0.0.0.0:${client}`], {
      env: { ...cleanEnvironment(), DLOCK_INSECURE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    try {
      await waitFor(
        "the server to start",
        () => (log.includes("dlock server started") ? true : null),
        30_000,
      );
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    const warning = log.split("\n").find((line) => line.includes("--insecure"));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 40 });
    const started = log.split("\n").find((line) => line.includes("dlock server started"));
    expect(JSON.parse(started!)).toMatchObject({
      peer: `127.0.0.1:${peer}`,
      client: `0.0.0.0:${client}`,
      tls: false,
    });
  });
});

describe("dlock certs init", () => {
  it("writes a CA, node and client certificates with private keys readable by the owner only", async () => {
    const dir = join(root, "certs");
    const result = await runDlock(
      [
        "certs",
        "init",
        "--dir",
        dir,
        "--nodes",
        "n1,n2",
        "--clients",
        "alice",
        "--hosts",
        "10.1.2.3,db.example",
      ],
      cleanEnvironment(),
    );
    expect(result.code, result.stderr).toBe(0);
    for (const key of ["ca-key.pem", "n1-key.pem", "n2-key.pem", "client-alice-key.pem"]) {
      expect(((await stat(join(dir, key))).mode & 0o777).toString(8), key).toBe("600");
    }
    const ca = new X509Certificate(await readFile(join(dir, "ca.pem")));
    const n1 = new X509Certificate(await readFile(join(dir, "n1.pem")));
    expect(n1.subject).toBe("CN=n1");
    expect(n1.subjectAltName).toBe("URI:dlock://node/n1, IP Address:10.1.2.3, DNS:db.example");
    expect(n1.verify(ca.publicKey)).toBe(true);
    const alice = new X509Certificate(await readFile(join(dir, "client-alice.pem")));
    expect(alice.subject).toBe("CN=alice");
    expect(alice.verify(ca.publicKey)).toBe(true);

    // A second run reuses the CA: earlier certificates stay valid.
    const again = await runDlock(
      ["certs", "init", "--dir", dir, "--nodes", "n3"],
      cleanEnvironment(),
    );
    expect(again.code, again.stderr).toBe(0);
    const n3 = new X509Certificate(await readFile(join(dir, "n3.pem")));
    expect(n3.verify(ca.publicKey)).toBe(true);

    // A node refuses to start with another node's certificate.
    const { args } = await serverArgs("wrong-cert");
    const wrong = await runDlock(
      [
        ...args,
        "--tls-cert",
        join(dir, "n2.pem"),
        "--tls-key",
        join(dir, "n2-key.pem"),
        "--tls-ca",
        join(dir, "ca.pem"),
      ],
      cleanEnvironment(),
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`node "n2"'s certificate, not "n1"'s`);
  });
});
