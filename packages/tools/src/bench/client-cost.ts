// What the client library costs per lock cycle, apart from any server: a Locker in this process
// drives lock() → one turn held → release() loops against a bare node in another process that
// answers at once (answering-node.ts). The CPU this process uses per cycle is the client's (and
// this probe's loop, which is a few promises), as a server sees it share the machine with its
// callers. Measured for one loop (serially) and for many loops on one Locker (one connection).
import { Locker } from "@dlock/client";
import { builtBenchScript, startBareProcess, stopBareProcess } from "./bare-process.js";
import { perSecondText, summarize } from "./stats.js";

export interface ClientCostRun {
  /** Loops running lock() → hold → release() at once on one Locker. */
  loops: number;
  cyclesPerSecond: number;
  /** This process's CPU time (user + system) per cycle, in microseconds. */
  cpuUsPerCycle: number;
  /** Of which system time: mostly the socket writes and reads. */
  systemUsPerCycle: number;
  cycleP50Ms: number;
}

export interface ClientCost {
  serial: ClientCostRun;
  shared: ClientCostRun;
}

export interface ClientCostOptions {
  /** Loops on one Locker in the shared run; default 32 (the bench's shared scenario). */
  loops?: number;
  /** Measured window of each run, after a warm-up of half as long; default 3 s. */
  windowMs?: number;
}

const DEFAULTS = { loops: 32, windowMs: 3_000 } as const;

const NODE_SCRIPT = builtBenchScript("answering-node.js");

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function run(port: number, loops: number, windowMs: number): Promise<ClientCostRun> {
  const locker = new Locker({ endpoints: [`127.0.0.1:${port}`] });
  let stopping = false;
  let measuring = false;
  let cycles = 0;
  const durations: number[] = [];
  const loop = async (i: number) => {
    while (!stopping) {
      const startedAt = performance.now();
      const lock = await locker.lock(`client-cost/${i}`, `client-cost-${i}`, { ttl: "30s" });
      // Held for one turn, as the bench's scenarios hold theirs: the release leaves from an
      // immediate, its own macrotask.
      await nextTurn();
      await lock.release();
      if (measuring) {
        cycles++;
        durations.push(performance.now() - startedAt);
      }
    }
  };
  const running = Array.from({ length: loops }, (_, i) => loop(i));
  try {
    await sleep(windowMs / 2);
    measuring = true;
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    await sleep(windowMs);
    const cpu = process.cpuUsage(cpuBefore);
    const elapsedMs = performance.now() - startedAt;
    measuring = false;
    const measured = Math.max(1, cycles);
    return {
      loops,
      cyclesPerSecond: (cycles * 1000) / elapsedMs,
      cpuUsPerCycle: (cpu.user + cpu.system) / measured,
      systemUsPerCycle: cpu.system / measured,
      cycleP50Ms: summarize(durations)?.p50 ?? 0,
    };
  } finally {
    stopping = true;
    await Promise.all(running);
    await locker.close();
  }
}

/** Measures the client's CPU per cycle against a bare answering node. */
export async function measureClientCost(options: ClientCostOptions = {}): Promise<ClientCost> {
  const { loops, windowMs } = { ...DEFAULTS, ...options };
  const node = await startBareProcess(NODE_SCRIPT, [], "client cost: the answering node");
  try {
    const serial = await run(node.port, 1, windowMs);
    const shared = await run(node.port, loops, windowMs);
    return { serial, shared };
  } finally {
    await stopBareProcess(node.child);
  }
}

function runText(run: ClientCostRun): string {
  return (
    `${run.loops === 1 ? "1 loop" : `${run.loops} loops on one Locker`}: ` +
    `${run.cpuUsPerCycle.toFixed(1)} µs of client CPU per cycle (system ${run.systemUsPerCycle.toFixed(1)}), ` +
    `${perSecondText(run.cyclesPerSecond)} cycles/s, p50 ${(run.cycleP50Ms * 1000).toFixed(0)} µs`
  );
}

export function formatClientCost(cost: ClientCost): string {
  return (
    `client cost (a Locker against a bare node that answers at once, lock → one turn → release):\n` +
    `  ${runText(cost.serial)}\n  ${runText(cost.shared)}`
  );
}
