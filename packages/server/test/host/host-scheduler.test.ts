import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RawNode } from "@dlock/raft";
import type { RaftConfig, RaftNode, Storage as RaftStorage } from "@dlock/raft";
import { encodeCommand } from "../../src/lock/index.js";
import type { HostScheduler } from "../../src/host/scheduler.js";
import { MemoryNetwork, TICK_MS, startNode, waitFor } from "./cluster.js";
import type { TestNode } from "./cluster.js";

/** A scheduler that does nothing by itself: the test fires the tick and the deferred work. */
class ManualScheduler implements HostScheduler {
  readonly ticks: Array<{ callback: () => void; periodMs: number; cleared: boolean }> = [];
  private deferred: Array<() => void> = [];
  timersSet = 0;

  setRepeating(callback: () => void, periodMs: number): unknown {
    const tick = { callback, periodMs, cleared: false };
    this.ticks.push(tick);
    return tick;
  }
  clearRepeating(handle: unknown): void {
    (handle as { cleared: boolean }).cleared = true;
  }
  setTimer(): unknown {
    this.timersSet++;
    return null;
  }
  clearTimer(): void {}
  defer(callback: () => void): void {
    this.deferred.push(callback);
  }

  /** Called as each deferred callback starts (a new turn of the event loop, in production). */
  onTurn: () => void = () => undefined;

  /** One tick of every live repeating timer, then the work deferred so far. */
  step(): void {
    for (const tick of this.ticks) if (!tick.cleared) tick.callback();
    this.flush();
  }

  /** Whether no deferred work waits: nothing runs until a tick, a write or a message. */
  idle(): boolean {
    return this.deferred.length === 0;
  }

  flush(): void {
    const work = this.deferred;
    this.deferred = [];
    for (const run of work) {
      this.onTurn();
      run();
    }
  }
}

describe("RaftHost runs on the scheduler it is given", () => {
  let dir = "";
  let node: TestNode | null = null;
  afterEach(async () => {
    await node?.host.stop();
    node = null;
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  /**
   * Starts a lone voter on a manual scheduler in a fresh folder, on a test clock from 0. It leads
   * only once `lead()` fires ticks until it has campaigned and won.
   */
  async function startOnManualScheduler(options: Parameters<typeof startNode>[4] = {}) {
    dir = await mkdtemp(join(tmpdir(), "dlock-scheduler-"));
    const scheduler = new ManualScheduler();
    let nowMs = 0;
    const started = await startNode(new MemoryNetwork(), "n1", dir, ["n1"], {
      ...options,
      scheduler,
      now: () => nowMs,
    });
    node = started;
    const lead = () =>
      waitFor("leadership from manual ticks", () => {
        nowMs += TICK_MS;
        scheduler.step();
        return started.host.status().role === "leader";
      });
    return { scheduler, node: started, lead };
  }

  it("ticks, processes and times out only when the injected scheduler says so", async () => {
    const { scheduler, node: started, lead } = await startOnManualScheduler();
    const host = started.host;
    expect(scheduler.ticks).toHaveLength(1);
    expect(scheduler.ticks[0].periodMs).toBe(TICK_MS);
    // No tick was fired: a lone voter cannot have campaigned on its own.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(host.status().role).not.toBe("leader");
    await lead();
    let granted: string | undefined;
    void host
      .propose(
        encodeCommand({
          type: "acquire",
          key: "k",
          value: "v",
          ttlMs: 10_000,
          waitMs: 0,
          lockDelayMs: 0,
          requestId: 1,
        }),
      )
      .then((result) => (granted = result?.type));
    await waitFor("the proposal to apply", () => {
      scheduler.flush();
      return granted !== undefined;
    });
    expect(granted).toBe("granted");
    expect(started.table.get("k")?.held).toBe(true);
    void host.transferLeadership("n2").catch(() => undefined);
    expect(scheduler.timersSet).toBe(1);
    await host.stop();
    expect(scheduler.ticks[0].cleared).toBe(true);
    node = null;
  });

  /**
   * Starts a lone voter on a manual scheduler with `options`, makes it leader, proposes `commands`
   * at once and returns how many entries it applied in each turn until all of them had applied.
   */
  async function appliedPerTurnOf(
    options: Parameters<typeof startNode>[4],
    commands: Uint8Array[],
  ): Promise<number[]> {
    const { scheduler, node: started, lead } = await startOnManualScheduler(options);
    const host = started.host;
    await lead();
    let appliedThisTurn = 0;
    const appliedPerTurn: number[] = [];
    scheduler.onTurn = () => {
      if (appliedThisTurn > 0) appliedPerTurn.push(appliedThisTurn);
      appliedThisTurn = 0;
    };
    const appliedBefore = started.table.appliedIndex;
    host.onApply((entries) => {
      appliedThisTurn += entries.length;
    });
    let settled = 0;
    for (const command of commands) void host.propose(command).then(() => settled++);
    await waitFor("every proposal to apply", () => {
      scheduler.flush();
      return settled === commands.length;
    });
    scheduler.onTurn();
    expect(started.table.size).toBe(commands.length);
    expect(appliedPerTurn.reduce((a, b) => a + b, 0)).toBe(
      started.table.appliedIndex - appliedBefore,
    );
    return appliedPerTurn;
  }

  const acquireOf = (i: number, key: string, value: string, ttlMs: number): Uint8Array =>
    encodeCommand({
      type: "acquire",
      key,
      value,
      ttlMs,
      waitMs: 0,
      lockDelayMs: 0,
      requestId: i + 1,
    });

  it("applies a long run of committed entries a bounded number per turn, yielding in between", async () => {
    const perTurnMax = 8;
    const count = 100;
    const appliedPerTurn = await appliedPerTurnOf(
      {
        applyEntriesPerTurnMax: perTurnMax,
        // One entry per Ready: the budget is then exact, not "about".
        raft: { committedBytesPerReadyMax: 1 },
      },
      Array.from({ length: count }, (_, i) => acquireOf(i, `k${i}`, "v", 10_000)),
    );
    // Applied in several turns, none over the budget.
    expect(Math.max(...appliedPerTurn)).toBeLessThanOrEqual(perTurnMax);
    expect(appliedPerTurn.length).toBeGreaterThanOrEqual(count / perTurnMax);
  });

  it("applies one 32 KiB page of the scale workload (~700 entries) per turn by default", async () => {
    // A follower fresh from a snapshot install applies its catch-up with cold code: the 128 KiB
    // page the host once applied whole (~2,500 of these entries) held it 36-63 ms.
    const count = 3000;
    // The scale bench's keys and holders (~100 bytes an entry).
    const appliedPerTurn = await appliedPerTurnOf(
      {},
      Array.from({ length: count }, (_, i) =>
        acquireOf(
          i,
          `jobs/tenant-${Math.floor(i / 1000)}/task-${i % 1000}`,
          `holder-${i}`,
          3_600_000,
        ),
      ),
    );
    expect(Math.max(...appliedPerTurn)).toBeLessThanOrEqual(800);
    expect(appliedPerTurn.length).toBeGreaterThanOrEqual(count / 800);
  });

  it("a drain held for a batch to take the state changes never waits for a tick", async () => {
    // Under load a deferred drain once found the changes over their bound while a write was in
    // flight: it held, no later write was queued, and the applies waited for the next tick's
    // idle-changes write (50 ms in production; forever here, where the test fires no ticks).
    const {
      scheduler,
      node: started,
      lead,
    } = await startOnManualScheduler({
      applyEntriesPerTurnMax: 2,
      stateChangesPerBatchMax: 4,
      raft: { committedBytesPerReadyMax: 1 },
    });
    const { host, storage } = started;
    // Every write waits for the test once gated: it runs the deferred work to the end before it
    // lets one go. Counted from the start, so a write begun before the gating counts too.
    const gated: Array<() => void> = [];
    let gating = false;
    let writing = 0;
    const write = storage.write.bind(storage);
    storage.write = async (writes) => {
      writing++;
      try {
        if (gating) await new Promise<void>((resolve) => gated.push(resolve));
        await write(writes);
      } finally {
        writing--;
      }
    };
    await lead();
    gating = true;
    const count = 40;
    let settled = 0;
    for (let i = 0; i < count; i++) {
      void host.propose(acquireOf(i, `k${i}`, "v", 10_000)).then(() => settled++);
    }
    let writesLetGo = 0;
    const applied = waitFor("every proposal to apply, with no tick", () => {
      if (!scheduler.idle()) scheduler.flush();
      else if (gated.length > 0) {
        gated.shift()!();
        writesLetGo++;
      } else if (writing === 0 && settled < count) {
        throw new Error(
          `stuck after ${writesLetGo} writes: ${settled} of ${count} answered, ${started.table.size} applied, no write queued and no work deferred`,
        );
      }
      return settled === count;
    });
    // Stopping writes too: ungated, so a failure here does not hang the teardown.
    await applied.finally(() => {
      gating = false;
      for (const letGo of gated.splice(0)) letGo();
    });
    expect(started.table.size).toBe(count);
  });

  it("hands the core a 2 MiB send window per follower unless told otherwise", async () => {
    // The core's own 32 MiB window, filled in one turn for a follower catching up, held a leader
    // for 420 ms: the host's default bounds that turn.
    const windows: number[] = [];
    const createNode = (config: RaftConfig, storage: RaftStorage): RaftNode => {
      windows.push(config.inflightBytesMax ?? -1);
      return new RawNode(config, storage);
    };
    for (const raft of [{}, { inflightBytesMax: 1234 }]) {
      dir = await mkdtemp(join(tmpdir(), "dlock-scheduler-"));
      node = await startNode(new MemoryNetwork(), "n1", dir, ["n1"], { createNode, raft });
      await node.host.stop();
      node = null;
      await rm(dir, { recursive: true, force: true });
    }
    expect(windows).toEqual([2 * 1024 * 1024, 1234]);
  });
});
