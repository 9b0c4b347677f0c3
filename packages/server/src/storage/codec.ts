import type {
  ConfChange,
  ConfState,
  Entry,
  EntryKind,
  HardState,
  SnapshotMetadata,
} from "@dlock/raft";
import { StorageError } from "./errors.js";

// Hand-rolled binary records: entries are the hot path (one per proposal), and a fixed layout
// costs a few buffer writes where a generic encoder walks an object. The index lives in the key,
// so an entry record is: kind (1 byte), term (float64 BE: terms are safe integers), payload.
// Rare records (conf state, snapshot metadata, cluster identity) are JSON: readable, and cheap
// enough at a few writes per day.

const KIND_NORMAL = 0;
const KIND_NOOP = 1;
const KIND_CONFIG = 2;
const ENTRY_HEADER_BYTES = 9;

const CHANGE_TYPES: readonly ConfChange["type"][] = ["addLearner", "promote", "remove"];

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

function corrupt(what: string): never {
  throw new StorageError("CORRUPT", `stored ${what} record is malformed`);
}

export function encodeEntry(entry: Entry): Buffer {
  const out = Buffer.allocUnsafe(encodedEntryBytes(entry));
  encodeEntryInto(entry, out, 0);
  return out;
}

/**
 * Writes encodeEntry(entry) into `out` at `at`, which must have encodedEntryBytes(entry) bytes
 * free there: the in-memory log encodes straight into its chunks.
 */
export function encodeEntryInto(entry: Entry, out: Buffer, at: number): void {
  if (entry.kind === "config") {
    const change = entry.change ?? corrupt("config entry without change");
    const nodeLength = out.write(change.nodeId, at + ENTRY_HEADER_BYTES + 3, "utf8");
    const context = change.context ?? EMPTY;
    out[at] = KIND_CONFIG;
    out.writeDoubleBE(entry.term, at + 1);
    let field = at + ENTRY_HEADER_BYTES;
    out[field] = CHANGE_TYPES.indexOf(change.type);
    out.writeUInt16BE(nodeLength, field + 1);
    field += 3 + nodeLength;
    out.writeUInt32BE(change.context ? context.length + 1 : 0, field);
    out.set(context, field + 4);
    return;
  }
  out[at] = entry.kind === "normal" ? KIND_NORMAL : KIND_NOOP;
  out.writeDoubleBE(entry.term, at + 1);
  if (entry.kind === "normal") out.set(entry.data, at + ENTRY_HEADER_BYTES);
}

const EMPTY = new Uint8Array(0);

/** encodeEntry(entry).length, without encoding (for the log's byte count). */
export function encodedEntryBytes(entry: Entry): number {
  if (entry.kind === "noop") return ENTRY_HEADER_BYTES;
  if (entry.kind === "normal") return ENTRY_HEADER_BYTES + entry.data.length;
  const change = entry.change;
  const nodeBytes = change === undefined ? 0 : Buffer.byteLength(change.nodeId, "utf8");
  return ENTRY_HEADER_BYTES + 7 + nodeBytes + (change?.context?.length ?? 0);
}

export function decodeEntry(index: number, bytes: Uint8Array): Entry {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const entry = decodeEntryIn(index, buf, 0, buf.length);
  // Copy: the data outlives the read buffer and must not pin a large shared slab.
  if (entry.kind === "normal") entry.data = new Uint8Array(entry.data);
  return entry;
}

/**
 * Decodes the entry stored in `buf` at `at`..`at + length`. A normal entry's data is a view into
 * `buf` (no copy), so it keeps `buf` alive as long as the entry is kept.
 */
export function decodeEntryIn(index: number, buf: Buffer, at: number, length: number): Entry {
  if (length < ENTRY_HEADER_BYTES) corrupt("entry");
  const kindByte = buf[at];
  const term = entryTermIn(buf, at);
  if (!Number.isSafeInteger(term) || term < 0) corrupt("entry term");
  if (kindByte === KIND_NORMAL) {
    const dataAt = buf.byteOffset + at + ENTRY_HEADER_BYTES;
    return {
      index,
      term,
      kind: "normal",
      data: new Uint8Array(buf.buffer, dataAt, length - ENTRY_HEADER_BYTES),
    };
  }
  if (kindByte === KIND_NOOP) return { index, term, kind: "noop", data: EMPTY };
  if (kindByte !== KIND_CONFIG) corrupt("entry kind");
  return decodeConfigEntry(index, term, buf.subarray(at, at + length));
}

/** The term of the entry stored in `buf` at `at` (its header must be there). */
export function entryTermIn(buf: Buffer, at: number): number {
  return buf.readDoubleBE(at + 1);
}

function decodeConfigEntry(index: number, term: number, buf: Buffer): Entry {
  let at = ENTRY_HEADER_BYTES;
  if (buf.length < at + 3) corrupt("config entry");
  const type = CHANGE_TYPES[buf.readUInt8(at)] ?? corrupt("conf change type");
  const nodeLength = buf.readUInt16BE(at + 1);
  at += 3;
  if (buf.length < at + nodeLength + 4) corrupt("config entry");
  const nodeId = utf8Decoder.decode(buf.subarray(at, at + nodeLength));
  at += nodeLength;
  const contextField = buf.readUInt32BE(at);
  at += 4;
  const change: ConfChange = { type, nodeId };
  if (contextField > 0) {
    if (buf.length !== at + contextField - 1) corrupt("config entry context");
    change.context = new Uint8Array(buf.subarray(at));
  } else if (buf.length !== at) corrupt("config entry");
  const kind: EntryKind = "config";
  return { index, term, kind, data: EMPTY, change };
}

/** Hard state: term (f64), commit (f64), vote length (u16, 0xffff = null), vote utf8. */
export function encodeHardState(state: HardState): Buffer {
  const vote = state.vote === null ? null : utf8.encode(state.vote);
  const out = Buffer.allocUnsafe(18 + (vote?.length ?? 0));
  out.writeDoubleBE(state.term, 0);
  out.writeDoubleBE(state.commit, 8);
  out.writeUInt16BE(vote === null ? 0xffff : vote.length, 16);
  if (vote !== null) out.set(vote, 18);
  return out;
}

export function decodeHardState(bytes: Uint8Array): HardState {
  if (bytes.length < 18) corrupt("hard state");
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const term = buf.readDoubleBE(0);
  const commit = buf.readDoubleBE(8);
  const voteLength = buf.readUInt16BE(16);
  if (!Number.isSafeInteger(term) || !Number.isSafeInteger(commit)) corrupt("hard state");
  if (voteLength === 0xffff) {
    if (buf.length !== 18) corrupt("hard state");
    return { term, vote: null, commit };
  }
  if (buf.length !== 18 + voteLength) corrupt("hard state");
  return { term, vote: utf8Decoder.decode(buf.subarray(18)), commit };
}

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}

export function decodeJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(utf8Decoder.decode(bytes)) as unknown;
  } catch {
    return corrupt(what);
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

export function decodeConfState(bytes: Uint8Array): ConfState {
  const value = decodeJson(bytes, "conf state") as Partial<ConfState> | null;
  if (value === null || !isStringArray(value.voters) || !isStringArray(value.learners)) {
    return corrupt("conf state");
  }
  return { voters: value.voters, learners: value.learners };
}

/** Where the current snapshot is: its metadata and its file (null: none, index 0). */
export interface SnapshotRecord {
  metadata: SnapshotMetadata;
  file: string | null;
}

export function decodeSnapshotRecord(bytes: Uint8Array): SnapshotRecord {
  const value = decodeJson(bytes, "snapshot metadata") as {
    metadata?: Partial<SnapshotMetadata>;
    file?: unknown;
  } | null;
  const metadata = value?.metadata;
  if (
    value === null ||
    metadata === undefined ||
    !Number.isSafeInteger(metadata.index) ||
    !Number.isSafeInteger(metadata.term) ||
    metadata.confState === undefined ||
    (value.file !== null && typeof value.file !== "string")
  ) {
    return corrupt("snapshot metadata");
  }
  const confState = decodeConfState(encodeJson(metadata.confState));
  return {
    metadata: { index: metadata.index as number, term: metadata.term as number, confState },
    file: value.file,
  };
}

/** An unsigned safe integer as 8 bytes big-endian, so byte order = numeric order in LevelDB. */
export function encodeUint64(value: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32BE(Math.floor(value / 0x1_0000_0000), 0);
  out.writeUInt32BE(value >>> 0, 4);
  return out;
}

export function decodeUint64(bytes: Uint8Array, offset = 0): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.length < offset + 8) corrupt("integer");
  return buf.readUInt32BE(offset) * 0x1_0000_0000 + buf.readUInt32BE(offset + 4);
}
