import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KeyState } from "../../src/lock/key-state.js";
import { emptyKeyState } from "../../src/lock/key-state.js";
import {
  decodeKeyStateRecord,
  decodePlainKeyStateRecordInto,
  encodeKeyStateRecord,
} from "../../src/lock/table-codec.js";
import { propertySeed } from "./helpers.js";

/** What the general decoder makes of `bytes`: the state, or the error it throws. */
function general(bytes: Uint8Array): { state: KeyState } | { error: unknown } {
  try {
    return { state: decodeKeyStateRecord(bytes) };
  } catch (error) {
    return { error };
  }
}

/**
 * The plain decoder agrees with the general one: what it accepts, the general decoder decodes to
 * the same state; what it rejects, the general decoder rejects with the same error.
 */
function expectAgreement(bytes: Uint8Array): boolean {
  const expected = general(bytes);
  const into = emptyKeyState();
  let plain: boolean;
  try {
    plain = decodePlainKeyStateRecordInto(bytes, into);
  } catch (error) {
    expect(expected).toEqual({ error });
    return true;
  }
  if (plain) expect(expected).toEqual({ state: into });
  return plain;
}

const ascii = fc.string({
  unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
  maxLength: 300,
});
const anyText = fc.oneof(ascii, fc.string({ unit: "grapheme", maxLength: 40 }));
const number = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.maxSafeNat(),
  fc.integer({ min: -5, max: -1 }),
);
const waiter = fc.record({
  value: anyText,
  waiterId: number,
  waiterRevision: number,
  ttlMs: number,
  waitMs: number,
  lockDelayMs: number,
  requestId: number,
});
const held = fc.record({
  key: anyText,
  holder: anyText,
  token: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
  leaseRevision: number,
  ttlMs: number,
  lockDelayMs: number,
  delayRevision: fc.constant(0),
  delayMs: number,
  waiters: fc.array(waiter, { maxLength: 2 }),
});
const anyState = fc.oneof(
  held,
  fc.record({
    key: anyText,
    holder: fc.option(anyText),
    token: number,
    leaseRevision: number,
    ttlMs: number,
    lockDelayMs: number,
    delayRevision: number,
    delayMs: number,
    waiters: fc.array(waiter, { maxLength: 2 }),
  }),
);

const isPlainText = (s: string): boolean =>
  s.length <= 1024 && [...s].every((c) => c.charCodeAt(0) <= 0x7f);
const isPlainNumber = (n: number): boolean => n >= 0 && n < 2 ** 32;

describe("decodePlainKeyStateRecordInto", () => {
  it("decodes what the general decoder does, and takes every plain record", () => {
    const seed = propertySeed("plain lock record");
    fc.assert(
      fc.property(anyState, (state) => {
        const bytes = encodeKeyStateRecord(state as KeyState);
        const plainShape =
          state.waiters.length === 0 &&
          isPlainText(state.key) &&
          (state.holder === null || isPlainText(state.holder)) &&
          [state.token, state.leaseRevision, state.ttlMs, state.lockDelayMs]
            .concat([state.delayRevision, state.delayMs])
            .every(isPlainNumber);
        const taken = expectAgreement(bytes);
        if (plainShape && "state" in general(bytes)) expect(taken).toBe(true);
        if (!plainShape) expect(taken).toBe(false);
      }),
      { seed, numRuns: 3000 },
    );
  });

  it("rejects or declines damaged records as the general decoder does", () => {
    const seed = propertySeed("plain lock record damage");
    const plainRecord = held.map((s) => ({ ...s, waiters: [], key: "k", holder: "h" }));
    fc.assert(
      fc.property(
        plainRecord,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: -3, max: 3 }),
        (state, at, byte, lengthChange) => {
          const bytes = encodeKeyStateRecord(state);
          const damaged = new Uint8Array(Math.max(0, bytes.length + lengthChange));
          damaged.set(bytes.subarray(0, damaged.length));
          if (damaged.length > 0) damaged[at % damaged.length] = byte;
          expectAgreement(damaged);
        },
      ),
      { seed, numRuns: 5000 },
    );
  });
});
