import type { ConfState } from "@dlock/raft";
import type { ChainedEntry } from "../log-chain.js";
import { CommitDurabilityChecker } from "./commit-durability.js";
import { CommitLedger } from "./commit-ledger.js";
import { ElectionSafetyChecker } from "./election-safety.js";
import type { LeaderLog } from "./leader-completeness.js";
import { LeaderCompletenessChecker } from "./leader-completeness.js";
import { LogMatchingChecker } from "./log-matching.js";
import { ReadIndexChecker } from "./read-index.js";
import { StateMachineSafetyChecker } from "./state-machine-safety.js";
import type { LogView } from "./violation.js";
import { SafetyViolation } from "./violation.js";

/** What the monitor may ask the simulated cluster. */
export interface ClusterProbe {
  /** Nodes that are running and believe they lead, with their (memory) logs. */
  leaders(): LeaderLog[];
  /** A node's durable log (what a crash would leave), crashed nodes included. */
  durableLog(node: string): LogView | undefined;
}

/**
 * Runs every safety checker on what the simulated hosts observe, as it happens. Each observe*
 * method throws a SafetyViolation at the first broken property, and the first one is kept in
 * `violation`: the production host catches what its Ready loop throws (and fails), so a run
 * must not depend on the throw reaching it.
 */
export class SafetyMonitor {
  readonly ledger: CommitLedger;
  readonly electionSafety = new ElectionSafetyChecker();
  readonly logMatching = new LogMatchingChecker();
  readonly stateMachineSafety = new StateMachineSafetyChecker();
  readonly leaderCompleteness: LeaderCompletenessChecker;
  readonly commitDurability: CommitDurabilityChecker;
  readonly readIndex = new ReadIndexChecker();
  /** The first violation any observe* method found. */
  violation: SafetyViolation | null = null;
  private probe: ClusterProbe | null = null;
  private readonly durableLogOf = (node: string): LogView | undefined =>
    this.probe?.durableLog(node);

  constructor(bootstrap: ConfState) {
    this.ledger = new CommitLedger(bootstrap);
    this.leaderCompleteness = new LeaderCompletenessChecker(this.ledger);
    this.commitDurability = new CommitDurabilityChecker(this.ledger);
  }

  attach(probe: ClusterProbe): void {
    this.probe = probe;
  }

  observeLeader(leader: LeaderLog): void {
    try {
      this.electionSafety.observeLeader(leader.node, leader.term);
      this.leaderCompleteness.observeLeader(leader);
    } catch (error) {
      throw this.kept(error);
    }
  }

  observeEntries(node: string, entries: readonly ChainedEntry[]): void {
    try {
      if (entries.length > 0) this.logMatching.observeEntries(node, entries);
    } catch (error) {
      throw this.kept(error);
    }
  }

  /** Returns the chain value at the snapshot's index. */
  observeSnapshot(node: string, index: number, term: number): number {
    try {
      return this.logMatching.observeSnapshot(node, index, term);
    } catch (error) {
      throw this.kept(error);
    }
  }

  observeCommitted(node: string, nodeTerm: number, entries: readonly ChainedEntry[]): void {
    try {
      if (entries.length === 0) return;
      this.ledger.observeCommitted(node, nodeTerm, entries);
      if (this.probe) {
        const index = entries[entries.length - 1].entry.index;
        this.leaderCompleteness.observeCommit(node, nodeTerm, index, this.probe.leaders());
        this.commitDurability.check(this.durableLogOf);
      }
    } catch (error) {
      throw this.kept(error);
    }
  }

  observeApplied(node: string, index: number, digest: number): void {
    try {
      this.stateMachineSafety.observeApplied(node, index, digest);
    } catch (error) {
      throw this.kept(error);
    }
  }

  observeReadStarted(requestId: number): void {
    try {
      this.readIndex.observeReadStarted(requestId, this.ledger.maxIndex);
    } catch (error) {
      throw this.kept(error);
    }
  }

  observeReadState(node: string, requestId: number, index: number): void {
    try {
      this.readIndex.observeReadState(node, requestId, index);
    } catch (error) {
      throw this.kept(error);
    }
  }

  observeReadDropped(requestId: number): void {
    try {
      this.readIndex.observeReadDropped(requestId);
    } catch (error) {
      throw this.kept(error);
    }
  }

  /** Something durable changed (a sync, a crash): re-check durability of the commit point. */
  observeDurability(): void {
    try {
      if (this.probe) this.commitDurability.check(this.durableLogOf);
    } catch (error) {
      throw this.kept(error);
    }
  }

  /** Keeps `violation` if it is the first one; returns it (to throw). */
  report(violation: SafetyViolation): SafetyViolation {
    this.violation ??= violation;
    return violation;
  }

  /** Keeps the first violation thrown through the monitor; returns what to rethrow. */
  private kept(error: unknown): unknown {
    if (error instanceof SafetyViolation) this.violation ??= error;
    return error;
  }
}
