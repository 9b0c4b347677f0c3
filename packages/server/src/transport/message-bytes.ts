// What one queued Raft message costs in memory, for the peer send queue's byte cap. Payloads
// (entry data, snapshot chunks) dominate; the fixed parts are an estimate of their encoded size.
import { entryBytes } from "@dlock/raft";
import type { Message } from "@dlock/raft";

/** Counted for every message: type, ids, term and the numeric fields. */
const MESSAGE_OVERHEAD_BYTES = 128;
/** Counted for every entry of an append: index, term, kind. */
const ENTRY_OVERHEAD_BYTES = 32;

export function messageBytes(message: Message): number {
  let bytes = MESSAGE_OVERHEAD_BYTES;
  if (message.type === "append") {
    for (const entry of message.entries) bytes += ENTRY_OVERHEAD_BYTES + entryBytes(entry);
  } else if (message.type === "snapshot") {
    bytes += message.data.byteLength;
  }
  return bytes;
}
