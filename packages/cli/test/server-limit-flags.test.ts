// The limit flags of `dlock server` map 1:1 onto ServerOptions, and each has its variable.
import { describe, expect, it } from "vitest";
import { DEFAULT_SERVER_OPTIONS } from "@dlock/server";
import { serverOptionsFromFlags } from "../src/commands/server.js";
import { runInProcess } from "./support/run-in-process.js";

type Flags = Parameters<typeof serverOptionsFromFlags>[0];
const REQUIRED: Flags = { id: "n1", data: "/tmp/n1", cluster: "n1=127.0.0.1:7101", fsync: true };

describe("dlock server limit flags", () => {
  it("map onto the server options with their units", () => {
    const options = serverOptionsFromFlags({
      ...REQUIRED,
      clientConnectionsMax: "512",
      clientConnectionsPerSource: "8",
      clientHandshakeTimeout: "2s",
      clientIdleTimeout: "90s",
      clientReplyBacklog: "1MiB",
      clientReplyBacklogTotal: "32MiB",
      clientStuckTimeout: "5s",
      clientRate: "500",
      clientBurst: "100",
      adminConnectionsMax: "10",
      adminRequestsMax: "4",
      peerSendQueue: "16MiB",
    });
    expect(options).toMatchObject({
      clientConnectionsMax: 512,
      clientConnectionsPerSourceMax: 8,
      clientHandshakeTimeoutMs: 2_000,
      clientIdleTimeoutMs: 90_000,
      clientReplyBacklogBytesMax: 1024 * 1024,
      clientReplyBacklogTotalBytesMax: 32 * 1024 * 1024,
      clientStuckTimeoutMs: 5_000,
      clientRequestsPerSecond: 500,
      clientRequestBurst: 100,
      adminConnectionsMax: 10,
      adminRequestsMax: 4,
      peerSendQueueBytesMax: 16 * 1024 * 1024,
    });
  });

  it("leaves every limit to the server's defaults when not given", () => {
    const options = serverOptionsFromFlags(REQUIRED);
    expect(options.clientConnectionsPerSourceMax).toBeUndefined();
    expect(options.clientIdleTimeoutMs).toBeUndefined();
    expect(options.adminRequestsMax).toBeUndefined();
    expect(options.watchHistoryEventsMax).toBeUndefined();
  });

  it("lists the variable of each limit flag in --help", async () => {
    const run = await runInProcess(["server", "--help"]);
    const text = run.stdout.replace(/\s+/g, " ");
    for (const variable of [
      "DLOCK_CLIENT_CONNECTIONS_MAX",
      "DLOCK_CLIENT_CONNECTIONS_PER_SOURCE",
      "DLOCK_CLIENT_HANDSHAKE_TIMEOUT",
      "DLOCK_CLIENT_IDLE_TIMEOUT",
      "DLOCK_CLIENT_REPLY_BACKLOG",
      "DLOCK_CLIENT_REPLY_BACKLOG_TOTAL",
      "DLOCK_CLIENT_STUCK_TIMEOUT",
      "DLOCK_CLIENT_RATE",
      "DLOCK_CLIENT_BURST",
      "DLOCK_ADMIN_CONNECTIONS_MAX",
      "DLOCK_ADMIN_REQUESTS_MAX",
      "DLOCK_PEER_SEND_QUEUE",
      "DLOCK_WAITERS_PER_KEY_MAX",
      "DLOCK_LOCKS_MAX",
      "DLOCK_SEMAPHORE_PERMITS_MAX",
      "DLOCK_WATCH_HISTORY",
    ]) {
      expect(text).toContain(`env: ${variable}`);
    }
  });

  it("maps the replicated table limits, and states their defaults as the server has them", async () => {
    const options = serverOptionsFromFlags({
      ...REQUIRED,
      waitersPerKeyMax: "8",
      locksMax: "5000",
      semaphorePermitsMax: "16",
    });
    expect(options).toMatchObject({
      waitersPerKeyMax: 8,
      locksMax: 5_000,
      semaphorePermitsMax: 16,
    });
    const bare = serverOptionsFromFlags(REQUIRED);
    expect([bare.waitersPerKeyMax, bare.locksMax, bare.semaphorePermitsMax]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    const text = (await runInProcess(["server", "--help"])).stdout.replace(/\s+/g, " ");
    expect(text).toContain(`LOCK_BUSY (default ${DEFAULT_SERVER_OPTIONS.waitersPerKeyMax};`);
    expect(text).toContain(`LOCKS_FULL (default ${DEFAULT_SERVER_OPTIONS.locksMax};`);
    expect(text).toContain(
      `INVALID_ARGUMENT (default ${DEFAULT_SERVER_OPTIONS.semaphorePermitsMax}, at most`,
    );
  });
});
