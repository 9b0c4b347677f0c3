import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { mainThreadCpuMs, processCpuMs } from "../src/bench/stats.js";

/** Runs a fixed amount of arithmetic (~100-200 ms of CPU on one core) on a worker thread. */
function burnOnWorker(): Promise<void> {
  const source = `
    let x = 0;
    for (let i = 0; i < 4e8; i++) x = (x + i) % 1000003;
    require("node:worker_threads").parentPort.postMessage(x);
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true });
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
}

describe("bench CPU figures", () => {
  it.runIf(process.platform === "linux")(
    "counts a worker thread's CPU in the process's, not in the main thread's",
    async () => {
      const processBefore = processCpuMs(process.pid)!;
      const mainBefore = mainThreadCpuMs(process.pid);
      expect(mainBefore).not.toBeNull();
      await burnOnWorker();
      const processUsed = processCpuMs(process.pid)! - processBefore;
      const mainUsed = mainThreadCpuMs(process.pid)! - mainBefore!;
      expect(processUsed).toBeGreaterThan(50);
      // The main thread only waited (and started the worker): far less than the worker burned.
      expect(mainUsed).toBeLessThan(processUsed / 2);
    },
  );
});
