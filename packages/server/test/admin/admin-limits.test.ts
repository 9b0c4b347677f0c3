// The admin port's bounds: requests beyond requestsMax get 503 + Retry-After while the others
// are served; /metrics renders are shared by the requests that wait for the same one, each
// render starts after its requests arrived, and the lag gauges come from the status.
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { RenderGate } from "../../src/admin/admin-limits.js";
import { AdminServer } from "../../src/admin/admin-server.js";
import { ServerMetrics } from "../../src/admin/server-metrics.js";
import type { NodeStatusSnapshot } from "../../src/admin/status-provider.js";

const STATUS: NodeStatusSnapshot = {
  nodeId: "n1",
  role: "leader",
  term: 2,
  leader: "n1",
  commitIndex: 5,
  appliedIndex: 5,
  members: [],
  eventLoopLag: { p50Ms: 10, p99Ms: 40, maxMs: 120, maxMsSinceStart: 900 },
};

const servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

/** One GET on its own connection: status code and Retry-After. */
function get(port: number, path: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port, path, agent: false }, (response) => {
      response.resume();
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          retryAfter: response.headers["retry-after"] as string | undefined,
        }),
      );
    });
    request.on("error", reject);
  });
}

describe("AdminServer limits", () => {
  it("answers 503 with Retry-After beyond requestsMax, and serves again once they finish", async () => {
    let releaseStorage!: () => void;
    const storage = new Promise<void>((resolve) => (releaseStorage = resolve));
    let checks = 0;
    const server = new AdminServer({
      provider: {
        status: () => STATUS,
        checkStorageWritable: () => {
          checks++;
          return storage;
        },
      },
      metrics: new ServerMetrics(),
      port: 0,
      requestsMax: 2,
    });
    servers.push(server);
    await server.start();
    const { port } = server.address();
    // Two /healthz requests wait on the storage check and hold both slots.
    const slow = [get(port, "/healthz"), get(port, "/healthz")];
    const deadline = Date.now() + 15_000;
    while (checks < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(checks).toBe(2);
    expect(await get(port, "/status")).toEqual({ status: 503, retryAfter: "1" });
    releaseStorage();
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
    expect((await get(port, "/status")).status).toBe(200);
  });

  it("exposes the event-loop lag of the status as gauges", async () => {
    const metrics = new ServerMetrics({ statusSource: () => STATUS });
    const text = await metrics.render();
    expect(text).toMatch(/^dlock_event_loop_lag_seconds\{stat="p99"\} 0.04$/m);
    expect(text).toMatch(/^dlock_event_loop_lag_seconds\{stat="max"\} 0.12$/m);
    expect(text).toMatch(/^dlock_event_loop_lag_max_seconds 0.9$/m);
  });
});

describe("RenderGate", () => {
  it("renders at most once per interval; callers waiting for the same render share it", async () => {
    let renders = 0;
    const gate = new RenderGate(() => Promise.resolve(`render ${++renders}`), 50);
    expect(await gate.next()).toBe("render 1");
    // Within the interval: all three wait for one render, started after they asked.
    const results = await Promise.all([gate.next(), gate.next(), gate.next()]);
    expect(results).toEqual(["render 2", "render 2", "render 2"]);
    expect(renders).toBe(2);
  });

  it("never hands out a render that started before the call", async () => {
    let renders = 0;
    let finishRender!: () => void;
    const gate = new RenderGate(
      () =>
        new Promise<string>((resolve) => {
          const n = ++renders;
          finishRender = () => resolve(`render ${n}`);
        }),
      0,
    );
    const first = gate.next();
    await new Promise((resolve) => setTimeout(resolve, 20)); // render 1 has started
    const second = gate.next();
    finishRender();
    expect(await first).toBe("render 1");
    await new Promise((resolve) => setTimeout(resolve, 20));
    finishRender();
    expect(await second).toBe("render 2");
  });
});
