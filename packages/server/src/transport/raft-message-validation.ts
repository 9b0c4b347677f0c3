// Checks that a decoded value is a well-formed Raft Message before it reaches the core. msgpack
// carries whatever a peer sent: a wrong field type here would otherwise surface as a corrupted log
// or an exception deep inside the core. Throws MalformedFrameError; the caller closes the link.
import type { ConfChange, ConfState, Entry, Message, SnapshotMetadata } from "@dlock/raft";
import { MalformedFrameError } from "@dlock/protocol";

type Fields = Record<string, unknown>;

/** Largest snapshot a node accepts from a leader (the whole of it is held in memory). */
export const SNAPSHOT_BYTES_MAX = 2 * 1024 * 1024 * 1024;

function fail(message: string): never {
  throw new MalformedFrameError(`invalid raft message: ${message}`);
}

function isRecord(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function count(record: Fields, field: string): number {
  const value = record[field];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    fail(`${field} must be a non-negative integer`);
  }
  return value;
}

function text(record: Fields, field: string): string {
  const value = record[field];
  if (typeof value !== "string" || value.length === 0) fail(`${field} must be a non-empty string`);
  return value;
}

function flag(record: Fields, field: string): boolean {
  const value = record[field];
  if (typeof value !== "boolean") fail(`${field} must be a boolean`);
  return value;
}

function bytes(record: Fields, field: string): Uint8Array {
  const value = record[field];
  if (!(value instanceof Uint8Array)) fail(`${field} must be binary`);
  return value;
}

function ids(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) fail(`${field} must be an array`);
  for (const id of value)
    if (typeof id !== "string" || id.length === 0) fail(`${field} holds a bad id`);
  return value as string[];
}

function confState(value: unknown): ConfState {
  if (!isRecord(value)) fail("confState must be an object");
  return { voters: ids(value.voters, "voters"), learners: ids(value.learners, "learners") };
}

function snapshotMetadata(value: unknown): SnapshotMetadata {
  if (!isRecord(value)) fail("metadata must be an object");
  return {
    index: count(value, "index"),
    term: count(value, "term"),
    confState: confState(value.confState),
  };
}

const CONF_CHANGE_TYPES: ReadonlySet<string> = new Set(["addLearner", "promote", "remove"]);

function confChange(value: unknown): ConfChange {
  if (!isRecord(value)) fail("change must be an object");
  const type = value.type;
  if (typeof type !== "string" || !CONF_CHANGE_TYPES.has(type)) fail("change.type is unknown");
  const change: ConfChange = { type: type as ConfChange["type"], nodeId: text(value, "nodeId") };
  if (value.context !== undefined && value.context !== null)
    change.context = bytes(value, "context");
  return change;
}

const ENTRY_KINDS: ReadonlySet<string> = new Set(["normal", "noop", "config"]);

/**
 * The entries of an append from a leader of `term`: they follow (prevIndex, prevTerm) without a
 * gap, and their terms never decrease nor exceed the leader's (a correct leader sends nothing
 * else; the log would otherwise be corrupted rather than refused).
 */
function entries(value: unknown, prevIndex: number, prevTerm: number, term: number): Entry[] {
  if (!Array.isArray(value)) fail("entries must be an array");
  let expectedIndex = prevIndex + 1;
  let lastTerm = prevTerm;
  for (const entry of value as unknown[]) {
    if (!isRecord(entry)) fail("entry must be an object");
    const index = count(entry, "index");
    const entryTerm = count(entry, "term");
    if (index !== expectedIndex) fail(`entry ${index} where ${expectedIndex} must follow`);
    if (entryTerm < lastTerm || entryTerm > term) {
      fail(`entry ${index} has term ${entryTerm} (after term ${lastTerm}, in term ${term})`);
    }
    expectedIndex++;
    lastTerm = entryTerm;
    const kind = entry.kind;
    if (typeof kind !== "string" || !ENTRY_KINDS.has(kind)) fail("entry.kind is unknown");
    bytes(entry, "data");
    if (kind === "config") confChange(entry.change);
    else if (entry.change !== undefined) fail("only config entries carry a change");
  }
  return value as Entry[];
}

/** Returns `value` typed as a Message when every field has the right type; throws otherwise. */
export function validateRaftMessage(value: unknown): Message {
  if (!isRecord(value)) fail("not an object");
  text(value, "from");
  text(value, "to");
  const term = count(value, "term");
  switch (value.type) {
    case "preVote":
    case "vote":
      count(value, "lastIndex");
      // A candidate campaigns in a term above that of its last entry.
      if (count(value, "lastTerm") > term) fail("lastTerm above the term");
      flag(value, "transfer");
      break;
    case "preVoteResp":
    case "voteResp":
      flag(value, "granted");
      break;
    case "append": {
      const prevIndex = count(value, "prevIndex");
      const prevTerm = count(value, "prevTerm");
      if (prevTerm > term) fail("prevTerm above the term");
      count(value, "commit");
      entries(value.entries, prevIndex, prevTerm, term);
      break;
    }
    case "appendResp":
      flag(value, "reject");
      count(value, "index");
      count(value, "hintIndex");
      count(value, "hintTerm");
      break;
    case "heartbeat":
      count(value, "commit");
      count(value, "readContext");
      if (value.transferee !== undefined && value.transferee !== null) text(value, "transferee");
      break;
    case "heartbeatResp":
      count(value, "readContext");
      break;
    case "snapshot": {
      if (snapshotMetadata(value.metadata).term > term) fail("snapshot term above the term");
      const offset = count(value, "offset");
      const data = bytes(value, "data");
      const totalBytes = count(value, "totalBytes");
      flag(value, "done");
      // The receiver allocates totalBytes for the whole snapshot: bound it, and the chunk in it.
      if (totalBytes > SNAPSHOT_BYTES_MAX) fail(`totalBytes over ${SNAPSHOT_BYTES_MAX}`);
      if (offset + data.length > totalBytes) fail("chunk past totalBytes");
      break;
    }
    case "snapshotResp":
      count(value, "snapshotIndex");
      count(value, "nextOffset");
      flag(value, "done");
      flag(value, "reject");
      break;
    case "timeoutNow":
      break;
    default:
      fail(`unknown type ${JSON.stringify(value.type)}`);
  }
  return value as unknown as Message;
}
