import { describe, expect, it } from "vitest";
import { afterTurnFlushes, deferInTurn, flushAtTurnEnd } from "../../src/transport/turn-end.js";

/** Resolves after `depth` promise continuations, as an answer reaches its connection. */
async function continuations(depth: number): Promise<void> {
  for (let i = 0; i < depth; i++) await Promise.resolve();
}

describe("flushAtTurnEnd", () => {
  it("outside deferred work, flushes at the check phase, after the turn's ticks and continuations", async () => {
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      flushAtTurnEnd(() => {
        order.push("flush");
        resolve();
      });
      order.push("sync");
      process.nextTick(() => order.push("tick"));
      void continuations(3).then(() => order.push("continuation"));
    });
    expect(order).toHaveLength(4);
    expect(order.at(-1)).toBe("flush");
  });

  it("inside deferInTurn, flushes once the work and its continuations settled, before the next loop iteration", async () => {
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      deferInTurn(() => {
        // Queued from the check phase: this runs in the next iteration of the loop.
        setImmediate(() => {
          order.push("next iteration");
          resolve();
        });
        flushAtTurnEnd(() => order.push("flush of the work"));
        // An answer settled a few continuations later still rides in this turn's flush.
        void continuations(5).then(() => order.push("answer"));
      });
    });
    expect(order).toEqual(["answer", "flush of the work", "next iteration"]);
  });

  it("after deferred work has ended, flushes at the check phase again", async () => {
    const order: string[] = [];
    await new Promise<void>((resolve) => deferInTurn(resolve));
    await new Promise<void>((resolve) => {
      flushAtTurnEnd(() => {
        order.push("flush");
        resolve();
      });
      process.nextTick(() => order.push("tick"));
    });
    expect(order).toEqual(["tick", "flush"]);
  });

  it("ends the deferred work's turn even when the work throws", async () => {
    const order: string[] = [];
    const listeners = process.listeners("uncaughtException");
    process.removeAllListeners("uncaughtException");
    const caught = new Promise<unknown>((resolve) => process.once("uncaughtException", resolve));
    try {
      deferInTurn(() => {
        flushAtTurnEnd(() => order.push("flush"));
        throw new Error("work failed");
      });
      expect(String(await caught)).toContain("work failed");
    } finally {
      for (const listener of listeners) process.on("uncaughtException", listener);
    }
    // The failed work's turn ended: a later flush does not wait for an end that never comes.
    await new Promise<void>((resolve) =>
      flushAtTurnEnd(() => {
        order.push("later");
        resolve();
      }),
    );
    expect(order).toEqual(["flush", "later"]);
  });

  it("afterTurnFlushes: inside deferred work, settles after the turn's flushes; outside, nothing to wait for", async () => {
    expect(afterTurnFlushes()).toBeNull();
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      deferInTurn(() => {
        void Promise.resolve().then(() => {
          // Asked for by a continuation of the work (the group committer's batch start) before
          // the work's own flush request, it still waits for that flush.
          void afterTurnFlushes()!.then(() => {
            order.push("disk write");
            resolve();
          });
          flushAtTurnEnd(() => order.push("socket flush"));
        });
      });
    });
    expect(order).toEqual(["socket flush", "disk write"]);
  });
});
