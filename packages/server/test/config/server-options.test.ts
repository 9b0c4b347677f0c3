import { describe, expect, it } from "vitest";
import { ConfigError } from "@dlock/protocol";
import { DEFAULT_SERVER_OPTIONS, resolveServerOptions } from "../../src/config/server-options.js";
import type { ServerOptions } from "../../src/config/server-options.js";

const base: ServerOptions = {
  id: "n1",
  dataDir: "./data/n1",
  peers: { n1: "10.0.0.1:7101", n2: "10.0.0.2:7101", n3: "10.0.0.3:7101" },
  // These cases are about other options; secure-by-default has its own below.
  insecure: true,
};

const loopback: ServerOptions = {
  id: "n1",
  dataDir: "./data/n1",
  peers: { n1: "127.0.0.1:7101", n2: "127.0.0.1:7102", n3: "127.0.0.1:7103" },
};

const tlsFiles = { tlsCertFile: "n1.pem", tlsKeyFile: "n1-key.pem", tlsCaFile: "ca.pem" };

function optionOf(options: ServerOptions): string | null {
  try {
    resolveServerOptions(options);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe("INVALID_ARGUMENT");
    return (error as ConfigError).option;
  }
}

describe("resolveServerOptions", () => {
  it("fills defaults and derives the election timeout, TTL floor and addresses", () => {
    const r = resolveServerOptions(base);
    expect(r.clusterId).toBe(DEFAULT_SERVER_OPTIONS.clusterId);
    expect(r.electionTimeoutMs).toBe(500);
    expect(r.ttlMsMin).toBe(2500);
    expect(r.lockLimits.ttlMsMin).toBe(2500);
    // Peers are listened for where the others reach this node, not on every interface.
    expect(r.peerListen).toBe("10.0.0.1:7101");
    expect(r.tlsFiles).toBeNull();
    expect(r.clientListen).toBe("127.0.0.1:7001");
    expect(r.advertisedClientAddress).toBe("127.0.0.1:7001");
    expect(r.httpListen).toBe("127.0.0.1:7201");
    expect(r.fsync).toBe(true);
    expect([r.compactionEntries, r.compactionBytes]).toEqual([100_000, 64 * 1024 * 1024]);
  });

  it("advertises the peer host when the client port listens on every interface", () => {
    const r = resolveServerOptions({ ...base, clientListen: "0.0.0.0:7001", httpListen: null });
    expect(r.advertisedClientAddress).toBe("10.0.0.1:7001");
    expect(r.httpListen).toBeNull();
    expect(resolveServerOptions({ ...base, clientListen: "[::1]:7001" }).clientListen).toBe(
      "[::1]:7001",
    );
  });

  it("still takes the option names from before the unit naming rule, for one release", () => {
    const r = resolveServerOptions({
      ...base,
      ttlMinMs: 3_000,
      ttlMaxMs: 60_000,
      waitMaxMs: 30_000,
      lockDelayMaxMs: 0,
    });
    expect([r.ttlMsMin, r.ttlMsMax, r.waitMsMax, r.lockDelayMsMax]).toEqual([
      3_000, 60_000, 30_000, 0,
    ]);
    expect(r.lockLimits.ttlMsMax).toBe(60_000);
    expect(Object.keys(r)).not.toContain("ttlMinMs");
    expect(optionOf({ ...base, ttlMaxMs: 60_000, ttlMsMax: 60_000 })).toBe("ttlMaxMs");
  });

  it("ignores undefined fields (unset flags) instead of overriding defaults", () => {
    expect(resolveServerOptions({ ...base, tickMs: undefined }).tickMs).toBe(50);
  });

  it("names the bad option", () => {
    const cases: Array<[Partial<ServerOptions> & Record<string, unknown>, string]> = [
      [{ id: "" }, "id"],
      [{ id: "n 1" }, "id"],
      [{ id: "n9" }, "peers"],
      [{ dataDir: "" }, "dataDir"],
      [{ clusterId: "a/b" }, "clusterId"],
      [{ peers: { n1: "10.0.0.1" } }, "peers.n1"],
      [{ peers: { n1: "0.0.0.0:7101" } }, "peers.n1"],
      [{ clientListen: "localhost:99999" }, "clientListen"],
      [{ clientListen: "127.0.0.1:0" }, "advertisedClientAddress"],
      [{ advertisedClientAddress: "0.0.0.0:7001" }, "advertisedClientAddress"],
      [{ tickMs: 0 }, "tickMs"],
      [{ tickMs: 1.5 }, "tickMs"],
      [{ electionTicks: 1 }, "heartbeatTicks"],
      [{ ttlMsMin: 100 }, "ttlMsMin"],
      [{ ttlMsMax: 1000 }, "ttlMsMax"],
      [{ keyBytesMax: -1 }, "keyBytesMax"],
      [{ lockDelayMsMax: -1 }, "lockDelayMsMax"],
      [{ compactionEntries: -1 }, "compactionEntries"],
      [{ compactionBytes: 0.5 }, "compactionBytes"],
      [{ fsync: "yes" as unknown as boolean }, "fsync"],
      [{ logLevel: "loud" as never }, "logLevel"],
    ];
    for (const [patch, option] of cases) {
      expect({ patch, option: optionOf({ ...base, ...patch } as ServerOptions) }).toEqual({
        patch,
        option,
      });
    }
  });

  it("defaults the client and admin limits and refuses a limit below 1", () => {
    const r = resolveServerOptions(base);
    expect(r).toMatchObject({
      clientConnectionsMax: 1_024,
      clientConnectionsPerSourceMax: 128,
      clientHandshakeTimeoutMs: 5_000,
      clientIdleTimeoutMs: 60_000,
      clientReplyBacklogBytesMax: 256 * 1024,
      clientReplyBacklogTotalBytesMax: 64 * 1024 * 1024,
      clientStuckTimeoutMs: 30_000,
      clientRequestsPerSecond: 100_000,
      clientRequestBurst: 4_096,
      adminConnectionsMax: 64,
      adminRequestsMax: 16,
    });
    for (const option of [
      "clientConnectionsPerSourceMax",
      "clientIdleTimeoutMs",
      "clientReplyBacklogBytesMax",
      "clientStuckTimeoutMs",
      "clientRequestsPerSecond",
      "adminRequestsMax",
    ]) {
      expect(optionOf({ ...base, [option]: 0 })).toBe(option);
    }
  });

  it("defaults the peer send queue byte cap and refuses one below a peer frame", () => {
    expect(resolveServerOptions(base).peerSendQueueBytesMax).toBe(64 * 1024 * 1024);
    expect(optionOf({ ...base, peerSendQueueBytesMax: 0 })).toBe("peerSendQueueBytesMax");
    expect(optionOf({ ...base, peerSendQueueBytesMax: 4 * 1024 * 1024 - 1 })).toBe(
      "peerSendQueueBytesMax",
    );
    expect(resolveServerOptions({ ...base, peerSendQueueBytesMax: 4 * 1024 * 1024 })).toMatchObject(
      { peerSendQueueBytesMax: 4 * 1024 * 1024 },
    );
  });

  it("runs a loopback cluster without TLS", () => {
    const r = resolveServerOptions(loopback);
    expect(r.peerListen).toBe("127.0.0.1:7101");
    expect(r.tlsFiles).toBeNull();
    expect(r.insecure).toBe(false);
  });

  it("refuses a port off loopback without TLS unless insecure, naming the flag and the way out", () => {
    const refusals: Array<[Partial<ServerOptions>, string, string]> = [
      [{ peers: { n1: "10.0.0.1:7101" } }, "peerListen", "--peer 10.0.0.1:7101"],
      [{ clientListen: "0.0.0.0:7001" }, "clientListen", "--client 0.0.0.0:7001"],
      [{ peerListen: "0.0.0.0:7101" }, "peerListen", "--peer 0.0.0.0:7101"],
      [{ httpListen: "10.0.0.1:7201" }, "httpListen", "--http 10.0.0.1:7201"],
      // With TLS for client and peers, the admin port needs --admin-tls too.
      [{ ...tlsFiles, httpListen: "0.0.0.0:7201" }, "httpListen", "--admin-tls"],
    ];
    for (const [patch, option, text] of refusals) {
      let error: unknown = null;
      try {
        resolveServerOptions({ ...loopback, ...patch });
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(patch)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
      expect((error as ConfigError).message).toContain(text);
      expect((error as ConfigError).message).toContain("--insecure");
      expect(resolveServerOptions({ ...loopback, ...patch, insecure: true }).insecure).toBe(true);
    }
  });

  it("accepts ports off loopback with TLS", () => {
    const r = resolveServerOptions({
      ...loopback,
      ...tlsFiles,
      peers: { n1: "10.0.0.1:7101" },
      clientListen: "0.0.0.0:7001",
      httpListen: "0.0.0.0:7201",
      adminTls: true,
      tlsClientAuth: "require",
    });
    expect(r.tlsFiles).toEqual({ certFile: "n1.pem", keyFile: "n1-key.pem", caFile: "ca.pem" });
    expect(r.peerListen).toBe("10.0.0.1:7101");
    expect(r.tlsClientAuth).toBe("require");
  });

  it("names a TLS option that is missing or contradicts another", () => {
    const cases: Array<[Partial<ServerOptions> & Record<string, unknown>, string]> = [
      [{ tlsCertFile: "n1.pem", tlsKeyFile: "n1-key.pem" }, "tlsCaFile"],
      [{ tlsCaFile: "ca.pem" }, "tlsCertFile"],
      [{ tlsClientAuth: "require" }, "tlsClientAuth"],
      [{ ...tlsFiles, tlsClientAuth: "always" as never }, "tlsClientAuth"],
      [{ adminTls: true }, "adminTls"],
      [{ insecure: "yes" as unknown as boolean }, "insecure"],
    ];
    for (const [patch, option] of cases) {
      expect({ patch, option: optionOf({ ...loopback, ...patch } as ServerOptions) }).toEqual({
        patch,
        option,
      });
    }
  });
});
