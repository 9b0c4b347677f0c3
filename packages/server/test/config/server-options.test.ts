import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/errors.js";
import { parseHostPort } from "../../src/config/address.js";
import { DEFAULT_SERVER_OPTIONS, resolveServerOptions } from "../../src/config/server-options.js";
import type { ServerOptions } from "../../src/config/server-options.js";

const base: ServerOptions = {
  id: "n1",
  dataDir: "./data/n1",
  peers: { n1: "10.0.0.1:7101", n2: "10.0.0.2:7101", n3: "10.0.0.3:7101" },
};

function optionOf(options: ServerOptions): string | null {
  try {
    resolveServerOptions(options);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe("INVALID_OPTION");
    return (error as ConfigError).option;
  }
}

describe("resolveServerOptions", () => {
  it("fills defaults and derives the election timeout, TTL floor and addresses", () => {
    const r = resolveServerOptions(base);
    expect(r.clusterId).toBe(DEFAULT_SERVER_OPTIONS.clusterId);
    expect(r.electionTimeoutMs).toBe(500);
    expect(r.ttlMinMs).toBe(2500);
    expect(r.lockLimits.ttlMinMs).toBe(2500);
    expect(r.peerListen).toBe("0.0.0.0:7101");
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
      [{ ttlMinMs: 100 }, "ttlMinMs"],
      [{ ttlMaxMs: 1000 }, "ttlMaxMs"],
      [{ keyBytesMax: -1 }, "keyBytesMax"],
      [{ lockDelayMaxMs: -1 }, "lockDelayMaxMs"],
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
      clientRequestsPerSecond: 2_000,
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

  it("parses host:port forms", () => {
    expect(parseHostPort("x", "[::]:80")).toEqual({ host: "::", port: 80 });
    expect(parseHostPort("x", ":7001")).toEqual({ host: "", port: 7001 });
    expect(() => parseHostPort("x", "::1:80")).toThrowError(ConfigError);
  });
});
