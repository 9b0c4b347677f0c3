import { Packr } from "msgpackr";
import type { LockCommand } from "./commands.js";
import { LockError } from "./errors.js";

// Commands are msgpack arrays [tag, key, ...fields] with a numeric tag: positional, no field
// names, a few bytes over the strings themselves. Tags are part of the log format: never reuse one.
const TAG_ACQUIRE = 1;
const TAG_REFRESH = 2;
const TAG_RELEASE = 3;
const TAG_EXPIRE = 4;
const TAG_WAITER_EXPIRE = 5;
const TAG_CANCEL_WAIT = 6;
const TAG_CLEAR_DELAY = 7;

/** One packer for the package: msgpackr hands out non-overlapping slices of a reused buffer. */
export const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

export function encodeCommand(command: LockCommand): Uint8Array {
  switch (command.type) {
    case "acquire":
      return packr.pack([
        TAG_ACQUIRE,
        command.key,
        command.value,
        command.ttlMs,
        command.waitMs,
        command.lockDelayMs,
        command.requestId,
        // An 8th field only when set, so entries without it stay as older versions wrote them.
        ...(command.renewOnly === true ? [1] : []),
      ]);
    case "refresh":
      return packr.pack([TAG_REFRESH, command.key, command.value, command.token, command.ttlMs]);
    case "release":
      return packr.pack([TAG_RELEASE, command.key, command.value, command.token]);
    case "expire":
      return packr.pack([TAG_EXPIRE, command.key, command.token, command.leaseRevision]);
    case "waiterExpire":
      return packr.pack([TAG_WAITER_EXPIRE, command.key, command.value, command.waiterRevision]);
    case "cancelWait":
      return packr.pack([TAG_CANCEL_WAIT, command.key, command.value]);
    case "clearDelay":
      return packr.pack([TAG_CLEAR_DELAY, command.key, command.delayRevision]);
  }
}

function malformed(message: string, cause?: unknown): never {
  throw new LockError("MALFORMED", `malformed lock command: ${message}`, { cause });
}

export function str(value: unknown, field: string): string {
  if (typeof value !== "string") malformed(`${field} must be a string`);
  return value as string;
}

/** Non-negative safe integer (tokens, revisions, durations, ids). */
export function uint(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    malformed(`${field} must be a non-negative integer`);
  return value as number;
}

function expectLength(fields: unknown[], length: number, name: string): void {
  if (fields.length !== length)
    malformed(`${name} has ${fields.length} fields, expected ${length}`);
}

/**
 * Decodes and type-checks one command. Throws LockError("MALFORMED") for anything else; ranges
 * (sizes, TTL) are checked by validateCommand / apply, not here.
 */
export function decodeCommand(bytes: Uint8Array): LockCommand {
  let fields: unknown;
  try {
    fields = packr.unpack(bytes);
  } catch (cause) {
    malformed("not msgpack", cause);
  }
  if (!Array.isArray(fields) || fields.length < 2) malformed("not a command array");
  const array = fields as unknown[];
  const key = str(array[1], "key");
  switch (array[0]) {
    case TAG_ACQUIRE:
      if (array.length !== 8 || array[7] !== 1) expectLength(array, 7, "acquire");
      return {
        type: "acquire",
        key,
        value: str(array[2], "value"),
        ttlMs: uint(array[3], "ttlMs"),
        waitMs: uint(array[4], "waitMs"),
        lockDelayMs: uint(array[5], "lockDelayMs"),
        requestId: uint(array[6], "requestId"),
        ...(array.length === 8 ? { renewOnly: true as const } : {}),
      };
    case TAG_REFRESH:
      expectLength(array, 5, "refresh");
      return {
        type: "refresh",
        key,
        value: str(array[2], "value"),
        token: uint(array[3], "token"),
        ttlMs: uint(array[4], "ttlMs"),
      };
    case TAG_RELEASE:
      expectLength(array, 4, "release");
      return {
        type: "release",
        key,
        value: str(array[2], "value"),
        token: uint(array[3], "token"),
      };
    case TAG_EXPIRE:
      expectLength(array, 4, "expire");
      return {
        type: "expire",
        key,
        token: uint(array[2], "token"),
        leaseRevision: uint(array[3], "leaseRevision"),
      };
    case TAG_WAITER_EXPIRE:
      expectLength(array, 4, "waiterExpire");
      return {
        type: "waiterExpire",
        key,
        value: str(array[2], "value"),
        waiterRevision: uint(array[3], "waiterRevision"),
      };
    case TAG_CANCEL_WAIT:
      expectLength(array, 3, "cancelWait");
      return { type: "cancelWait", key, value: str(array[2], "value") };
    case TAG_CLEAR_DELAY:
      expectLength(array, 3, "clearDelay");
      return { type: "clearDelay", key, delayRevision: uint(array[2], "delayRevision") };
    default:
      return malformed(`unknown tag ${String(array[0])}`);
  }
}

/** UTF-8 length of a JS string without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
