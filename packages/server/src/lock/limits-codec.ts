import { packr, uint } from "./codec.js";
import { LockError } from "./errors.js";
import type { TableLimits } from "./limits.js";
import { TABLE_LIMIT_NAMES, tableLimitsProblem } from "./limits.js";
import { packRecord, unpackRecord, unpackWrappedSnapshot } from "./record-rows.js";

// Persistent form of the replicated table limits. The record is [LIMITS_RECORD_FORMAT, ...values]
// in TABLE_LIMIT_NAMES order, stored under the lock key "" (no lock key is empty). A 10-field
// array like a lock record, told apart by its format number. A table snapshot carrying limits is
// [LIMITS_SNAPSHOT_FORMAT, innerSnapshot, values]; a table whose limits were never replicated
// keeps the inner snapshot's bytes unchanged (so older snapshots stay what they were).
const LIMITS_RECORD_FORMAT = 3;
const LIMITS_SNAPSHOT_FORMAT = 3;
/** msgpack heads of a 10-field record and a 3-field snapshot. */
const FIXARRAY_10 = 0x9a;
const FIXARRAY_3 = 0x93;

/** The lock key the limits record is stored under. */
export const LIMITS_RECORD_KEY = "";

function malformed(message: string): never {
  throw new LockError("MALFORMED", `malformed table limits: ${message}`);
}

function valuesOf(limits: TableLimits): number[] {
  return TABLE_LIMIT_NAMES.map((name) => limits[name]);
}

function limitsOf(values: unknown, offset: number): TableLimits {
  if (!Array.isArray(values) || values.length !== offset + TABLE_LIMIT_NAMES.length)
    malformed(`not a ${TABLE_LIMIT_NAMES.length}-value array`);
  const limits = {} as Record<keyof TableLimits, number>;
  TABLE_LIMIT_NAMES.forEach((name, i) => {
    limits[name] = uint((values as unknown[])[offset + i], name);
  });
  const problem = tableLimitsProblem(limits);
  if (problem !== null) malformed(problem);
  return limits;
}

export function isLimitsRecord(bytes: Uint8Array): boolean {
  return bytes[0] === FIXARRAY_10 && bytes[1] === LIMITS_RECORD_FORMAT;
}

export function encodeLimitsRecord(limits: TableLimits): Uint8Array {
  return packRecord(LIMITS_RECORD_FORMAT, valuesOf(limits));
}

export function decodeLimitsRecord(bytes: Uint8Array): TableLimits {
  return limitsOf(unpackRecord(bytes, LIMITS_RECORD_FORMAT, malformed), 1);
}

export function isLimitsSnapshot(bytes: Uint8Array): boolean {
  return bytes[0] === FIXARRAY_3 && bytes[1] === LIMITS_SNAPSHOT_FORMAT;
}

export function encodeLimitsSnapshot(inner: Uint8Array, limits: TableLimits): Uint8Array {
  return packr.pack([LIMITS_SNAPSHOT_FORMAT, inner, valuesOf(limits)]);
}

export function decodeLimitsSnapshot(bytes: Uint8Array): {
  inner: Uint8Array;
  limits: TableLimits;
} {
  const { inner, rows } = unpackWrappedSnapshot(bytes, LIMITS_SNAPSHOT_FORMAT, malformed);
  return { inner, limits: limitsOf(rows, 0) };
}
