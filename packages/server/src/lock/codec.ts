import { Packr } from "msgpackr";
import type { LockCommand } from "./commands.js";
import { LockError } from "./errors.js";
import { TABLE_LIMIT_NAMES } from "./limits.js";

// Commands are msgpack arrays [tag, key, ...fields] with a numeric tag: positional, no field
// names, a few bytes over the strings themselves. This table is the log format: tags are never
// reused, and a command's fields are never reordered (encode and decode both follow it).
type FieldKind = "str" | "uint";
type Layout<C extends LockCommand> = {
  tag: number;
  /** The fields after [tag, key], in wire order. */
  fields: ReadonlyArray<readonly [Exclude<keyof C, "type" | "key" | "renewOnly">, FieldKind]>;
};
type AnyLayout = { tag: number; fields: ReadonlyArray<readonly [string, FieldKind]> };

const LAYOUTS: { [T in LockCommand["type"]]: Layout<Extract<LockCommand, { type: T }>> } = {
  acquire: {
    tag: 1,
    fields: [
      ["value", "str"],
      ["ttlMs", "uint"],
      ["waitMs", "uint"],
      ["lockDelayMs", "uint"],
      ["requestId", "uint"],
    ],
  },
  refresh: {
    tag: 2,
    fields: [
      ["value", "str"],
      ["token", "uint"],
      ["ttlMs", "uint"],
    ],
  },
  release: {
    tag: 3,
    fields: [
      ["value", "str"],
      ["token", "uint"],
    ],
  },
  expire: {
    tag: 4,
    fields: [
      ["token", "uint"],
      ["leaseRevision", "uint"],
    ],
  },
  waiterExpire: {
    tag: 5,
    fields: [
      ["value", "str"],
      ["waiterRevision", "uint"],
    ],
  },
  cancelWait: { tag: 6, fields: [["value", "str"]] },
  clearDelay: { tag: 7, fields: [["delayRevision", "uint"]] },
  semaphoreAcquire: {
    tag: 8,
    fields: [
      ["value", "str"],
      ["ttlMs", "uint"],
      ["waitMs", "uint"],
      ["requestId", "uint"],
      ["permits", "uint"],
      ["count", "uint"],
    ],
  },
  rwAcquire: {
    tag: 10,
    fields: [
      ["value", "str"],
      ["ttlMs", "uint"],
      ["waitMs", "uint"],
      ["requestId", "uint"],
      ["mode", "str"],
    ],
  },
  setLimits: {
    tag: 11,
    fields: TABLE_LIMIT_NAMES.map((name) => [name, "uint"] as const),
  },
  permitExpire: {
    tag: 9,
    fields: [
      ["value", "str"],
      ["token", "uint"],
      ["leaseRevision", "uint"],
    ],
  },
};

/** The acquires a leader's keepalive may mark renewOnly (an optional trailing field). */
const RENEWABLE: ReadonlySet<LockCommand["type"]> = new Set([
  "acquire",
  "semaphoreAcquire",
  "rwAcquire",
]);

const TYPE_BY_TAG: ReadonlyMap<unknown, LockCommand["type"]> = new Map(
  (Object.keys(LAYOUTS) as LockCommand["type"][]).map((type) => [LAYOUTS[type].tag, type]),
);

/** One packer for the package: msgpackr hands out non-overlapping slices of a reused buffer. */
export const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

export function encodeCommand(command: LockCommand): Uint8Array {
  const layout: AnyLayout = LAYOUTS[command.type];
  const fields = command as unknown as Record<string, unknown>;
  const array: unknown[] = [layout.tag, command.key];
  for (const [name] of layout.fields) array.push(fields[name]);
  // An acquire's extra field only when set, so entries without it stay as older versions wrote them.
  if (RENEWABLE.has(command.type) && (command as { renewOnly?: true }).renewOnly) array.push(1);
  return packr.pack(array);
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
  const type = TYPE_BY_TAG.get(array[0]);
  if (type === undefined) return malformed(`unknown tag ${String(array[0])}`);
  const layout: AnyLayout = LAYOUTS[type];
  const length = 2 + layout.fields.length;
  const renewOnly = RENEWABLE.has(type) && array.length === length + 1 && array[length] === 1;
  if (array.length !== length && !renewOnly)
    malformed(`${type} has ${array.length} fields, expected ${length}`);
  const command: Record<string, unknown> = { type, key };
  layout.fields.forEach(([name, kind], i) => {
    command[name] = kind === "str" ? str(array[i + 2], name) : uint(array[i + 2], name);
  });
  if (renewOnly) command.renewOnly = true;
  return command as unknown as LockCommand;
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
