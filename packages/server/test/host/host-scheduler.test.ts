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

  it("ticks, processes and times out only when the injected scheduler says so", async () => {
    dir = await mkdtemp(join(tmpdir(), "dlock-scheduler-"));
    const scheduler = new ManualScheduler();
    let nowMs = 0;
    node = await startNode(new MemoryNetwork(), "n1", dir, ["n1"], {
      scheduler,
      now: () => nowMs,
    });
    const host = node.host;
    expect(scheduler.ticks).toHaveLength(1);
    expect(scheduler.ticks[0].periodMs).toBe(TICK_MS);
    // No tick was fired: a lone voter cannot have campaigned on its own.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(host.status().role).not.toBe("leader");
    await waitFor("leadership from manual ticks", () => {
      nowMs += TICK_MS;
      scheduler.step();
      return host.status().role === "leader";
    });
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
    expect(node.table.get("k")?.held).toBe(true);
    void host.transferLeadership("n2").catch(() => undefined);
    expect(scheduler.timersSet).toBe(1);
    await host.stop();
    expect(scheduler.ticks[0].cleared).toBe(true);
    node = null;
  });

  it("applies a long run of committed entries a bounded number per turn, yielding in between", async () => {
    dir = await mkdtemp(join(tmpdir(), "dlock-scheduler-"));
    const scheduler = new ManualScheduler();
    let nowMs = 0;
    const perTurnMax = 8;
    node = await startNode(new MemoryNetwork(), "n1", dir, ["n1"], {
      scheduler,
      now: () => nowMs,
      applyEntriesPerTurnMax: perTurnMax,
      // One entry per Ready: the budget is then exact, not "about".
      raft: { committedBytesPerReadyMax: 1 },
    });
    const host = node.host;
    await waitFor("leadership from manual ticks", () => {
      nowMs += TICK_MS;
      scheduler.step();
      return host.status().role === "leader";
    });
    let appliedThisTurn = 0;
    const appliedPerTurn: number[] = [];
    scheduler.onTurn = () => {
      if (appliedThisTurn > 0) appliedPerTurn.push(appliedThisTurn);
      appliedThisTurn = 0;
    };
    const appliedBefore = node.table.appliedIndex;
    host.onApply((entries) => {
      appliedThisTurn += entries.length;
    });
    const count = 100;
    let settled = 0;
    for (let i = 0; i < count; i++) {
      const command = encodeCommand({
        type: "acquire",
        key: `k${i}`,
        value: "v",
        ttlMs: 10_000,
        waitMs: 0,
        lockDelayMs: 0,
        requestId: i + 1,
      });
      void host.propose(command).then(() => settled++);
    }
    await waitFor("every proposal to apply", () => {
      scheduler.flush();
      return settled === count;
    });
    scheduler.onTurn();
    expect(node.table.size).toBe(count);
    // Applied in several turns, none over the budget.
    expect(appliedPerTurn.reduce((a, b) => a + b, 0)).toBe(node.table.appliedIndex - appliedBefore);
    expect(Math.max(...appliedPerTurn)).toBeLessThanOrEqual(perTurnMax);
    expect(appliedPerTurn.length).toBeGreaterThanOrEqual(count / perTurnMax);
  });

  it("applies one 32 KiB page of the scale workload (~700 entries) per turn by default", async () => {
    // A follower fresh from a snapshot install applies its catch-up with cold code: the 128 KiB
    // page the host once applied whole (~2,500 of these entries) held it 36-63 ms.
    dir = await mkdtemp(join(tmpdir(), "dlock-scheduler-"));
    const scheduler = new ManualScheduler();
    let nowMs = 0;
    node = await startNode(new MemoryNetwork(), "n1", dir, ["n1"], {
      scheduler,
      now: () => nowMs,
    });
    const host = node.host;
    await waitFor("leadership from manual ticks", () => {
      nowMs += TICK_MS;
      scheduler.step();
      return host.status().role === "leader";
    });
    let appliedThisTurn = 0;
    const appliedPerTurn: number[] = [];
    scheduler.onTurn = () => {
      if (appliedThisTurn > 0) appliedPerTurn.push(appliedThisTurn);
      appliedThisTurn = 0;
    };
    host.onApply((entries) => {
      appliedThisTurn += entries.length;
    });
    const count = 3000;
    let settled = 0;
    for (let i = 0; i < count; i++) {
      // The scale bench's keys and holders (~100 bytes an entry).
      const command = encodeCommand({
        type: "acquire",
        key: `jobs/tenant-${Math.floor(i / 1000)}/task-${i % 1000}`,
        value: `holder-${i}`,
        ttlMs: 3_600_000,
        waitMs: 0,
        lockDelayMs: 0,
        requestId: i + 1,
      });
      void host.propose(command).then(() => settled++);
    }
    await waitFor("every proposal to apply", () => {
      scheduler.flush();
      return settled === count;
    });
    scheduler.onTurn();
    expect(node.table.size).toBe(count);
    expect(Math.max(...appliedPerTurn)).toBeLessThanOrEqual(800);
    expect(appliedPerTurn.length).toBeGreaterThanOrEqual(count / 800);
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
