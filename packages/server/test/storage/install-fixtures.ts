// What the snapshot-install tests install: a table of old records, then a leader's snapshot of
// new ones that takes four install batches (three full, one part) and adds a learner.
import type { SnapshotMetadata } from "@dlock/raft";
import { META_MEMBERS, lockKey } from "../../src/storage/keys.js";
import { encodeMembers } from "../../src/storage/members-record.js";
import type { ClusterMembers } from "../../src/storage/members-record.js";
import { SnapshotEncoder } from "../../src/storage/snapshot-format.js";
import { INSTALL_BATCH_RECORDS } from "../../src/storage/snapshot-install.js";

export const VOTERS = { voters: ["n1", "n2", "n3"], learners: [] };
/** The members before the install. */
export const MEMBERS: ClusterMembers = { ...VOTERS, peerAddresses: {} };
/** The members the snapshot brings. */
export const NEW_MEMBERS: ClusterMembers = {
  voters: ["n1", "n2", "n3"],
  learners: ["n4"],
  peerAddresses: { n4: "127.0.0.1:4" },
};
export const NEW_METADATA: SnapshotMetadata = {
  index: 9000,
  term: 3,
  confState: { voters: VOTERS.voters, learners: ["n4"] },
};

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** `count` lock records of the table before the install. */
export function oldRecords(count: number): Array<[string, Uint8Array]> {
  return Array.from({ length: count }, (_, i): [string, Uint8Array] => [
    `old-${String(i).padStart(5, "0")}`,
    bytes(`o${i}`),
  ]);
}

/** The snapshot's lock records: four batches of the install, three full, one part. */
export const NEW_RECORDS = Array.from(
  { length: INSTALL_BATCH_RECORDS * 3 + 500 },
  (_, i): [string, Uint8Array] => [`new-${String(i).padStart(5, "0")}`, bytes(`n${i}`)],
);

/** A snapshot at NEW_METADATA's index and term of `records` and NEW_MEMBERS. */
export function encodeSnapshot(records: ReadonlyArray<readonly [string, Uint8Array]>): Buffer {
  const encoder = new SnapshotEncoder(NEW_METADATA.index, NEW_METADATA.term);
  for (const [key, value] of records) encoder.add(lockKey(key), value);
  encoder.add(META_MEMBERS, encodeMembers(NEW_MEMBERS));
  return encoder.finish();
}
