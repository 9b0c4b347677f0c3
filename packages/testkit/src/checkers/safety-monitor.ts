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

  readonly observeLeader = this.keeping((leader: LeaderLog): void => {
    this.electionSafety.observeLeader(leader.node, leader.term);
    this.leaderCompleteness.observeLeader(leader);
  });

  readonly observeEntries = this.keeping((node: string, entries: readonly ChainedEntry[]): void => {
    if (entries.length > 0) this.logMatching.observeEntries(node, entries);
  });

  /** Returns the chain value at the snapshot's index. */
  readonly observeSnapshot = this.keeping((node: string, index: number, term: number): number => {
    return this.logMatching.observeSnapshot(node, index, term);
  });

  readonly observeCommitted = this.keeping(
    (node: string, nodeTerm: number, entries: readonly ChainedEntry[]): void => {
      const last = entries.at(-1);
      if (last === undefined) return;
      this.ledger.observeCommitted(node, nodeTerm, entries);
      if (this.probe) {
        const index = last.entry.index;
        this.leaderCompleteness.observeCommit(node, nodeTerm, index, this.probe.leaders());
        this.commitDurability.check(this.durableLogOf);
      }
    },
  );

  readonly observeApplied = this.keeping((node: string, index: number, digest: number): void => {
    this.stateMachineSafety.observeApplied(node, index, digest);
  });

  readonly observeReadStarted = this.keeping((requestId: number): void => {
    this.readIndex.observeReadStarted(requestId, this.ledger.maxIndex);
  });

  readonly observeReadState = this.keeping(
    (node: string, requestId: number, index: number): void => {
      this.readIndex.observeReadState(node, requestId, index);
    },
  );

  readonly observeReadDropped = this.keeping((requestId: number): void => {
    this.readIndex.observeReadDropped(requestId);
  });

  /** Something durable changed (a sync, a crash): re-check durability of the commit point. */
  readonly observeDurability = this.keeping((): void => {
    if (this.probe) this.commitDurability.check(this.durableLogOf);
  });

  /** Keeps `violation` if it is the first one; returns it (to throw). */
  report(violation: SafetyViolation): SafetyViolation {
    this.violation ??= violation;
    return violation;
  }

  /** `check`, keeping the first violation it throws before rethrowing it. */
  private keeping<A extends unknown[], R>(check: (...args: A) => R): (...args: A) => R {
    return (...args) => {
      try {
        return check(...args);
      } catch (error) {
        if (error instanceof SafetyViolation) this.violation ??= error;
        throw error;
      }
    };
  }
}
