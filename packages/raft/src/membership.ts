import type { ConfChange, ConfState, NodeId } from "./types.js";

/**
 * Applies one membership change to a configuration, returning a new one. Each change sets the
 * named member's state absolutely (learner, voter, absent), so applying an already-applied change
 * again is harmless. Hosts use this to track the configuration of what they have applied (for
 * example to record it in a snapshot).
 */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const voters = conf.voters.filter((id) => id !== change.nodeId);
  const learners = conf.learners.filter((id) => id !== change.nodeId);
  switch (change.type) {
    case "addLearner":
      learners.push(change.nodeId);
      break;
    case "promote":
      voters.push(change.nodeId);
      break;
    case "remove":
      break;
  }
  return { voters, learners };
}

/** Why `change` is not a sensible next step from `conf`, or null when it is. */
export function confChangeProblem(conf: ConfState, change: ConfChange): string | null {
  const isVoter = conf.voters.includes(change.nodeId);
  const isLearner = conf.learners.includes(change.nodeId);
  switch (change.type) {
    case "addLearner":
      return isVoter || isLearner ? `${change.nodeId} is already a member` : null;
    case "promote":
      return isLearner ? null : `${change.nodeId} is not a learner`;
    case "remove":
      if (!isVoter && !isLearner) return `${change.nodeId} is not a member`;
      if (isVoter && conf.voters.length === 1) return `cannot remove the last voter`;
      return null;
  }
  return `unknown change type`;
}

/**
 * The current membership and how it was reached. A configuration takes effect as soon as its entry
 * is in the log (not when committed), so a truncated log suffix must roll it back: `history` keeps
 * one record per config entry still in the log, newest last.
 */
export class Membership {
  private base: ConfState;
  private readonly history: { index: number; conf: ConfState }[] = [];
  private current: ConfState;
  /** Voter ids as an array, for quorum arithmetic without allocation. */
  voterList: NodeId[] = [];
  private voterSet = new Set<NodeId>();
  private learnerSet = new Set<NodeId>();
  /**
   * Voters removed by changes no longer in `history` (compacted), with the index of the change:
   * a leader may still have to tell such a node that it is out (see removalIndexOf).
   */
  private readonly removedBeforeBase = new Map<NodeId, number>();

  constructor(base: ConfState) {
    this.base = copyConf(base);
    this.current = this.base;
    this.refresh();
  }

  conf(): ConfState {
    return copyConf(this.current);
  }

  isVoter(id: NodeId): boolean {
    return this.voterSet.has(id);
  }

  isLearner(id: NodeId): boolean {
    return this.learnerSet.has(id);
  }

  isMember(id: NodeId): boolean {
    return this.voterSet.has(id) || this.learnerSet.has(id);
  }

  members(): NodeId[] {
    return [...this.current.voters, ...this.current.learners];
  }

  /** Index of the newest config entry still in the log, 0 if none after the base. */
  lastConfigIndex(): number {
    return this.history.at(-1)?.index ?? 0;
  }

  /** The voters of the configuration before the newest change still in the log. */
  previousVoters(): readonly NodeId[] {
    const n = this.history.length;
    if (n === 0) return [];
    return (n >= 2 ? this.history[n - 2]!.conf : this.base).voters;
  }

  /** Was `id` a voter in the configuration before the newest change still in the log? */
  wasVoterBeforeLastChange(id: NodeId): boolean {
    return this.previousVoters().includes(id);
  }

  /**
   * Index of the change that removed voter `id`, which is not a member now; 0 if it is a member,
   * never was a voter here, or left as a learner (learners never campaign). Removals compacted
   * away are remembered only by this process (the newest REMOVED_VOTERS_MAX of them).
   */
  removalIndexOf(id: NodeId): number {
    if (this.isMember(id)) return 0;
    for (let i = this.history.length - 1; i >= 0; i--) {
      const before = i > 0 ? this.history[i - 1]!.conf : this.base;
      const left = leftAs(before, this.history[i]!.conf, id);
      if (left === "voter") return this.history[i]!.index;
      if (left === "learner") return 0;
    }
    return this.removedBeforeBase.get(id) ?? 0;
  }

  /** A config entry at `index` was appended. */
  append(index: number, change: ConfChange): void {
    this.current = applyConfChange(this.current, change);
    this.history.push({ index, conf: this.current });
    this.refresh();
  }

  /** Entries from `index` on were discarded: forget the changes they carried. Returns true if any. */
  truncateFrom(index: number): boolean {
    let changed = false;
    while ((this.history.at(-1)?.index ?? -1) >= index) {
      this.history.pop();
      changed = true;
    }
    if (changed) {
      this.current = this.history.at(-1)?.conf ?? this.base;
      this.refresh();
    }
    return changed;
  }

  /** The log was replaced by a snapshot whose configuration is `conf`. */
  reset(conf: ConfState): void {
    this.base = copyConf(conf);
    this.history.length = 0;
    for (const id of [...conf.voters, ...conf.learners]) this.removedBeforeBase.delete(id);
    this.current = this.base;
    this.refresh();
  }

  /** Entries up to `index` are compacted and committed: their changes can no longer roll back. */
  compact(index: number): void {
    let drop = 0;
    while (drop < this.history.length && this.history[drop]!.index <= index) drop++;
    if (drop === 0) return;
    for (let i = 0; i < drop; i++) {
      const before = i > 0 ? this.history[i - 1]!.conf : this.base;
      const after = this.history[i]!.conf;
      for (const id of before.voters) {
        if (leftAs(before, after, id) === "voter") this.rememberRemoval(id, this.history[i]!.index);
      }
      for (const id of [...after.voters, ...after.learners]) this.removedBeforeBase.delete(id);
    }
    this.base = this.history[drop - 1]!.conf;
    this.history.splice(0, drop);
  }

  /**
   * The host's record of a removal compacted before this process started (or before the snapshot
   * it installed). A change still in the log is found there first (removalIndexOf).
   */
  rememberCompactedRemoval(id: NodeId, index: number): void {
    if (this.isMember(id)) return;
    this.rememberRemoval(id, index);
  }

  private rememberRemoval(id: NodeId, index: number): void {
    this.removedBeforeBase.delete(id);
    this.removedBeforeBase.set(id, index);
    if (this.removedBeforeBase.size > REMOVED_VOTERS_MAX) {
      const oldest = this.removedBeforeBase.keys().next().value as NodeId;
      this.removedBeforeBase.delete(oldest);
    }
  }

  private refresh(): void {
    this.voterList = this.current.voters.slice();
    this.voterSet = new Set(this.current.voters);
    this.learnerSet = new Set(this.current.learners);
  }
}

/** How many compacted voter removals a node remembers (Map order: the oldest is forgotten). */
const REMOVED_VOTERS_MAX = 64;

/** Whether `id` left between `before` and `after`, and as what. */
function leftAs(before: ConfState, after: ConfState, id: NodeId): "voter" | "learner" | null {
  if (after.voters.includes(id) || after.learners.includes(id)) return null;
  if (before.voters.includes(id)) return "voter";
  return before.learners.includes(id) ? "learner" : null;
}

function copyConf(conf: ConfState): ConfState {
  return { voters: conf.voters.slice(), learners: conf.learners.slice() };
}
