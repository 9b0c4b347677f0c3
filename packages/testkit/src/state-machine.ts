import type { Entry } from "@dlock/raft";
import { Hasher } from "./hash.js";

/**
 * The replicated application a simulated node runs. The simulator applies committed entries in
 * order, snapshots it when it compacts the log and restores it from a snapshot after a restart or
 * an InstallSnapshot. Issue 4 plugs the lock state machine in here.
 */
export interface SimStateMachine {
  /** Apply one committed entry of kind "normal" (noop and config entries are not passed). */
  apply(entry: Entry): void;
  /** Serialize the state as of the last applied entry. */
  snapshot(): Uint8Array;
  /** Replace the state with a snapshot's (an empty snapshot means the initial state). */
  restore(data: Uint8Array): void;
  /** A digest of the state: two nodes at the same applied index must report the same one. */
  digest(): number;
}

export type SimStateMachineFactory = (nodeId: string) => SimStateMachine;

/**
 * Where snapshot() and restore() encode the two numbers: a 16-byte array V8 keeps on its heap
 * until someone reads its `.buffer`, which then costs an off-heap allocation, so each snapshot
 * is a copy of these bytes, never a view of its own.
 */
const SCRATCH_BYTES = new Uint8Array(16);
const SCRATCH_VIEW = new DataView(SCRATCH_BYTES.buffer);

/**
 * The default application: a hash chain over the data of every applied entry and a count of
 * them. Any difference in what or in which order a node applied shows up in its digest.
 */
export class HashChainStateMachine implements SimStateMachine {
  private chain = 0;
  private count = 0;

  apply(entry: Entry): void {
    this.chain = new Hasher(0x5a).int(this.chain).bytes(entry.data).digest();
    this.count++;
  }

  snapshot(): Uint8Array {
    SCRATCH_VIEW.setFloat64(0, this.chain);
    SCRATCH_VIEW.setFloat64(8, this.count);
    return SCRATCH_BYTES.slice();
  }

  restore(data: Uint8Array): void {
    if (data.length === 0) {
      this.chain = 0;
      this.count = 0;
      return;
    }
    if (data.length !== 16) throw new RangeError(`bad hash-chain snapshot of ${data.length} bytes`);
    SCRATCH_BYTES.set(data);
    this.chain = SCRATCH_VIEW.getFloat64(0);
    this.count = SCRATCH_VIEW.getFloat64(8);
  }

  digest(): number {
    return new Hasher(0x5b).int(this.chain).int(this.count).digest();
  }

  get appliedCount(): number {
    return this.count;
  }
}
