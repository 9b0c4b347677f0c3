import type { Entry } from "./types.js";

/** Shared empty payload: no-op and config entries carry no data, and must not allocate. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Shared empty entry list, for heartbeat-like appends that carry no entries. */
export const EMPTY_ENTRIES: readonly Entry[] = Object.freeze([]) as readonly Entry[];

/**
 * The size an entry counts for in byte limits (message size, in-flight bytes, uncommitted bytes).
 * Only the payload counts, as in etcd: the fixed overhead of an entry is bounded by the message
 * count limits instead.
 */
export function entryBytes(entry: Entry): number {
  return entry.data.byteLength + (entry.change?.context?.byteLength ?? 0);
}

/** Sum of entryBytes over a list. */
export function entriesBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const entry of entries) total += entryBytes(entry);
  return total;
}

/**
 * Cuts `entries` to at most `maxBytes` of payload, always keeping at least one entry so that an
 * entry larger than the limit still makes progress. Returns the same array when nothing is cut.
 */
export function limitBytes(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length <= 1) return entries;
  let total = entryBytes(entries[0]!);
  for (let i = 1; i < entries.length; i++) {
    total += entryBytes(entries[i]!);
    if (total > maxBytes) return entries.slice(0, i);
  }
  return entries;
}
