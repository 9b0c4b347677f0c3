import { bench, describe } from "vitest";
import type { LockCommand } from "@dlock/server/lock";
import { LeaseManager, LockStateMachine, decodeCommand, encodeCommand } from "@dlock/server/lock";

// Hot-path cost of the lock table: run with
//   npx vitest bench --run packages/server/test/lock/apply.bench.ts
// One iteration = BATCH commands (acquire then release on distinct keys over a table that
// already holds BACKGROUND locks), so ops/s × BATCH = commands per second.

const BATCH = 1000;
const BACKGROUND = 10_000;
const limits = { electionTimeoutMs: 100, locksMax: 1_000_000 };

function prepared(): { machine: LockStateMachine; leases: LeaseManager; index: number } {
  const machine = new LockStateMachine({ limits });
  const leases = new LeaseManager();
  leases.becomeLeader(0, machine);
  let index = 0;
  for (let i = 0; i < BACKGROUND; i++) {
    const result = machine.apply(++index, {
      type: "acquire",
      key: `background-${i}`,
      value: "holder",
      ttlMs: 30_000,
      waitMs: 0,
      lockDelayMs: 0,
      requestId: i,
    });
    leases.onApplied(result, 0);
  }
  return { machine, leases, index };
}

const commands: LockCommand[] = [];
for (let i = 0; i < BATCH / 2; i++) {
  const key = `resource-${i}`;
  const value = `client-${i}-7f3a9c`;
  commands.push({
    type: "acquire",
    key,
    value,
    ttlMs: 30_000,
    waitMs: 0,
    lockDelayMs: 0,
    requestId: i,
  });
  commands.push({ type: "release", key, value, token: 0 });
}
const encoded = commands.map(encodeCommand);

describe(`lock table, ${BATCH} commands per iteration`, () => {
  const wired = prepared();
  bench("encode + decode + apply + lease tracking", () => {
    const { machine, leases } = wired;
    for (let i = 0; i < BATCH; i++) {
      const result = machine.applyEntry(++wired.index, encodeCommand(commands[i]));
      leases.onApplied(result, wired.index);
    }
    machine.takeDirtyKeys();
  });

  const applyOnly = prepared();
  bench("apply only (decoded commands)", () => {
    for (let i = 0; i < BATCH; i++) applyOnly.machine.apply(++applyOnly.index, commands[i]);
    applyOnly.machine.takeDirtyKeys();
  });

  bench("encode + decode only", () => {
    for (let i = 0; i < BATCH; i++) decodeCommand(encodeCommand(commands[i]));
  });

  bench("decode only", () => {
    for (let i = 0; i < BATCH; i++) decodeCommand(encoded[i]);
  });
});
