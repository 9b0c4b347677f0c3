import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { TalliedCounter, TalliedHistogram } from "../../src/admin/metric-tallies.js";

const BUCKETS = [0.00005, 0.0001, 0.001, 0.01, 0.1, 1];

/** A prom-client registry and a tallied one with the same metrics, fed the same calls. */
function pair(defaultLabels?: Record<string, string>) {
  const reference = new Registry();
  const tallied = new Registry();
  if (defaultLabels) {
    reference.setDefaultLabels(defaultLabels);
    tallied.setDefaultLabels(defaultLabels);
  }
  const config = (registry: Registry) => ({ help: "Help text.", registers: [registry] });
  const refRequests = new Counter({
    name: "t_requests_total",
    labelNames: ["type", "result"],
    ...config(reference),
  });
  const refSeconds = new Histogram({
    name: "t_request_seconds",
    labelNames: ["type"],
    buckets: BUCKETS,
    ...config(reference),
  });
  const refFsync = new Histogram({
    name: "t_fsync_seconds",
    buckets: BUCKETS,
    ...config(reference),
  });
  const requests = new TalliedCounter({
    name: "t_requests_total",
    labelNames: ["type", "result"],
    ...config(tallied),
  });
  const seconds = new TalliedHistogram({
    name: "t_request_seconds",
    labelNames: ["type"],
    buckets: BUCKETS,
    ...config(tallied),
  });
  const fsync = new TalliedHistogram({
    name: "t_fsync_seconds",
    labelNames: [],
    buckets: BUCKETS,
    ...config(tallied),
  });
  return {
    reference,
    tallied,
    request(type: string, result: string, durationSeconds: number): void {
      refRequests.inc({ type, result });
      refSeconds.observe({ type }, durationSeconds);
      requests.tally(type, result).value++;
      seconds.tally(type).observe(durationSeconds);
    },
    fsync(durationSeconds: number): void {
      refFsync.observe(durationSeconds);
      fsync.tally().observe(durationSeconds);
    },
  };
}

describe("metric tallies", () => {
  it("render exactly what prom-client renders for the same calls, with and without default labels", async () => {
    for (const defaultLabels of [undefined, { node: "n1" }]) {
      const metrics = pair(defaultLabels);
      // Before any call: the unlabelled histogram shows its empty series, labelled ones nothing.
      expect(await metrics.tallied.metrics()).toBe(await metrics.reference.metrics());
      // Values on bounds, between them, above the last one, zero; sums that are not exact in binary.
      const durations = [0.00005, 0.00007, 0.0001, 0.0003, 0.001, 0.1, 0.7, 1, 3.5, 0, 0.1 + 0.2];
      for (const [i, seconds] of durations.entries()) {
        metrics.request(
          i % 3 === 0 ? "acquire" : "release",
          i % 4 === 0 ? "ok" : "CONFLICT",
          seconds,
        );
        metrics.fsync(seconds / 3);
      }
      const text = await metrics.tallied.metrics();
      expect(text).toBe(await metrics.reference.metrics());
      expect(text).toMatch(/t_request_seconds_bucket\{le="\+Inf",(node="n1",)?type="acquire"\} 4/);
      expect(await metrics.tallied.getMetricsAsJSON()).toEqual(
        await metrics.reference.getMetricsAsJSON(),
      );
    }
  });

  it("refuses an observation that is not a finite number, as prom-client does", () => {
    const histogram = new TalliedHistogram({
      name: "t_seconds",
      help: "Help text.",
      labelNames: [],
      buckets: BUCKETS,
      registers: [new Registry()],
    });
    expect(() => histogram.tally().observe(Number.NaN)).toThrow(TypeError);
    expect(histogram.tally().count).toBe(0);
  });

  it("refuses label values that do not match the label names", () => {
    const counter = new TalliedCounter({
      name: "t_total",
      help: "Help text.",
      labelNames: ["type", "result"],
      registers: [new Registry()],
    });
    expect(() => counter.tally("acquire")).toThrow(/expected 2 label values/);
  });
});
