import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LockCommand } from "@dlock/server/lock";
import {
  LockError,
  decodeCommand,
  decodeLockRecord,
  encodeCommand,
  utf8Bytes,
} from "@dlock/server/lock";
import { Log, propertySeed } from "./helpers.js";

const id = fc.maxSafeNat();
const text = fc.string({ unit: "grapheme", maxLength: 40 });
const commandArbitrary: fc.Arbitrary<LockCommand> = fc.oneof(
  fc.record(
    {
      type: fc.constant("acquire" as const),
      key: text,
      value: text,
      ttlMs: id,
      waitMs: id,
      lockDelayMs: id,
      requestId: id,
      renewOnly: fc.constant(true as const),
    },
    { requiredKeys: ["type", "key", "value", "ttlMs", "waitMs", "lockDelayMs", "requestId"] },
  ),
  fc.record({
    type: fc.constant("refresh" as const),
    key: text,
    value: text,
    token: id,
    ttlMs: id,
  }),
  fc.record({ type: fc.constant("release" as const), key: text, value: text, token: id }),
  fc.record({ type: fc.constant("expire" as const), key: text, token: id, leaseRevision: id }),
  fc.record({
    type: fc.constant("waiterExpire" as const),
    key: text,
    value: text,
    waiterRevision: id,
  }),
  fc.record({ type: fc.constant("cancelWait" as const), key: text, value: text }),
  fc.record({ type: fc.constant("clearDelay" as const), key: text, delayRevision: id }),
);

describe("command codec", () => {
  it("decode(encode(c)) equals c for every command", () => {
    const seed = propertySeed("command codec round trip");
    fc.assert(
      fc.property(commandArbitrary, (command) => {
        expect(decodeCommand(encodeCommand(command))).toEqual(command);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it("arbitrary bytes decode to a valid command or throw LockError MALFORMED, never anything else", () => {
    const seed = propertySeed("command codec garbage");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64, size: "max" }), (bytes) => {
        try {
          const command = decodeCommand(bytes);
          expect(decodeCommand(encodeCommand(command))).toEqual(command);
        } catch (error) {
          expect(error).toBeInstanceOf(LockError);
          expect((error as LockError).code).toBe("MALFORMED");
        }
      }),
      { seed, numRuns: 3000 },
    );
  });

  it("rejects wrong field types, counts, negative and fractional numbers and unknown tags", () => {
    const ok = encodeCommand({ type: "release", key: "k", value: "v", token: 3 });
    expect(decodeCommand(ok)).toEqual({ type: "release", key: "k", value: "v", token: 3 });
    for (const bytes of [
      Uint8Array.from([0x93, 0x03, 0xa1, 0x6b, 0xa1, 0x76]), // release with 3 fields
      Uint8Array.from([0x94, 0x03, 0xa1, 0x6b, 0xa1, 0x76, 0xff]), // token -1
      Uint8Array.from([0x94, 0x03, 0xa1, 0x6b, 0x01, 0x01]), // value is a number
      Uint8Array.from([0x93, 0x09, 0xa1, 0x6b, 0x01]), // unknown tag 9
      Uint8Array.from([0x94, 0x03, 0xa1, 0x6b, 0xa1, 0x76, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]), // token 1.5
      Uint8Array.from([0x81, 0xa1, 0x6b, 0x01]), // a map
      new Uint8Array(0),
      Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]), // array32 header claiming 4G elements
      Uint8Array.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]), // str32 header past the end
      Uint8Array.from([0x92, 0x01, 0xd6, 0xff, 0, 0, 0, 0]), // a timestamp extension as key
    ])
      expect(() => decodeCommand(bytes)).toThrow(expect.objectContaining({ code: "MALFORMED" }));
  });

  it("commands are compact", () => {
    const bytes = encodeCommand({
      type: "expire",
      key: "resource-1",
      token: 123456,
      leaseRevision: 123999,
    });
    expect(bytes.length).toBeLessThanOrEqual(1 + 1 + 11 + 5 + 5);
  });

  it("utf8Bytes equals the encoded length", () => {
    const seed = propertySeed("utf8Bytes");
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 30 }), (s) => {
        expect(utf8Bytes(s)).toBe(Buffer.byteLength(s, "utf8"));
      }),
      { seed, numRuns: 2000 },
    );
    expect(utf8Bytes("\ud800x")).toBe(Buffer.byteLength("\ud800x", "utf8")); // lone surrogate
  });
});

describe("lock records", () => {
  it("decodeLockRecord returns the key's state and rejects garbage", () => {
    const log = new Log();
    log.acquire("k", "a");
    log.acquire("k", "b", { waitMs: 700, requestId: 5 });
    const state = decodeLockRecord(log.machine.encodeLockRecord("k") as Uint8Array);
    expect(state).toMatchObject({ key: "k", holder: "a", token: 1, leaseRevision: 1, ttlMs: 1000 });
    expect(state.waiters).toEqual([
      {
        value: "b",
        waiterId: 2,
        waiterRevision: 2,
        ttlMs: 1000,
        waitMs: 700,
        lockDelayMs: 0,
        requestId: 5,
      },
    ]);
    expect(() => decodeLockRecord(Uint8Array.from([0x92, 0x01, 0x01]))).toThrow(
      expect.objectContaining({ code: "MALFORMED" }),
    );
  });
});
