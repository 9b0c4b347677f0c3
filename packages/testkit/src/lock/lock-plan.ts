import type { ClientPlantedBugs } from "@dlock/client/internal";
import type { LockServicePlantedBugs, PlantedLockBugs } from "@dlock/server/internal";
import type { SchedulePlan } from "../plan.js";
import { ELECTION_KEY_PREFIX } from "@dlock/protocol";
import { PlanError, livenessBoundMs, renameFields, validatePlan } from "../plan.js";

/**
 * How a held lock is kept alive. auto: the Locker refreshes every ttl/3. none: never refreshed
 * (it ends by expiry unless released). late: refreshed by hand just before the client's validity
 * runs out, where a refresh races the leader's expiry.
 */
export type RefreshMode = "auto" | "none" | "late";

/** One thing a client does, after `gapMs` of think time on its own clock. */
export type ClientOp =
  | ({
      kind: "lock";
      /**
       * Random extra wait per retry, up to this. Absent in plans saved before the client had
       * jitter: they replay as they ran, with none.
       */
      retryJitterMs?: number;
      /** A write to the fenced resource every writeEveryMs while held. */
      writeEveryMs: number;
      /** Afterwards, write once more with the old token without checking (a zombie). */
      zombieWrite: boolean;
    } & Omit<HeldOpFields, "retryJitterMs">)
  /**
   * Locker.acquire(): a bare grant, never refreshed; released by token, left to expire, or renewed
   * by acquiring again with the same value `renewOffsetMs` around the end of its validity (which
   * races the leader's expiry of the grant), then released.
   */
  | {
      kind: "acquire";
      gapMs: number;
      key: number;
      ttlMs: number;
      holdMs: number;
      writeEveryMs: number;
      end: "release" | "expire" | "renew";
      renewOffsetMs: number;
      zombieWrite: boolean;
    }
  /**
   * Locker.semaphore(): `count` of the key's N permits (plan.semaphorePermits), held and kept alive
   * as a lock is (refresh, wait, release or walk away), with no fenced writes: several holders
   * overlap by design, so their tokens do not order them.
   */
  | ({ kind: "semaphore"; count: number } & HeldOpFields)
  /**
   * Locker.readLock() / writeLock() of the reader-writer key (plan.rwKey), held and kept alive as
   * a lock is, with no fenced writes (readers overlap by design).
   */
  | ({ kind: "rw"; mode: "read" | "write" } & HeldOpFields)
  /**
   * Locker.campaign() on the election key (plan.electionKey), each queued attempt waiting waitMs;
   * once leading, holds the leadership (refreshed by the Locker) for holdMs, then resigns.
   */
  | {
      kind: "campaign";
      gapMs: number;
      key: number;
      ttlMs: number;
      waitMs: number;
      holdMs: number;
    }
  /** Locker.observe() of the election key for forMs: every leader it reports is recorded. */
  | { kind: "observe"; gapMs: number; key: number; forMs: number }
  | { kind: "get"; gapMs: number; key: number }
  /** Release again, by token, the client's previous grant of the key (a late retry). */
  | { kind: "staleRelease"; gapMs: number; key: number };

export type ClientOpKind = ClientOp["kind"];

/** What the ops that hold a key and keep it alive (lock, semaphore, rw) have alike. */
interface HeldOpFields {
  gapMs: number;
  key: number;
  ttlMs: number;
  /** 0: no queueing (busy answers at once); > 0: wait in the key's FIFO queue. */
  waitMs: number;
  retryLimit: number;
  retryIntervalMs: number;
  retryJitterMs: number;
  refresh: RefreshMode;
  /** How long the work under the key lasts. */
  holdMs: number;
  /** release: release when done. expire: walk away and let the lease run out. */
  end: "release" | "expire";
}

export interface ClientPlan {
  ops: ClientOp[];
}

/**
 * Faults of the lock world on top of the Raft plan's. clientPartition cuts one client's links to
 * the leader, to all nodes or to a random subset (both ways or one way); clockJump steps a
 * process's wall clock (which nothing may read).
 */
export type ClientFaultStep =
  | { atMs: number; kind: "clientPause"; client: number; forMs: number }
  | { atMs: number; kind: "clientCrash"; client: number; downMs: number }
  | {
      atMs: number;
      kind: "clientPartition";
      client: number;
      nodes: "leader" | "all" | "some";
      oneWay: boolean;
      forMs: number;
    }
  | { atMs: number; kind: "clockJump"; target: "node" | "client"; deltaMs: number };

export type ClientFaultKind = ClientFaultStep["kind"];

/** Deliberate misuse of the wall clock, to show that clock jumps would matter if it were read. */
export interface WallClockMisuse {
  /** The Locker's clock is the wall clock. */
  clientUsesWallClock?: boolean;
  /** The leader's lease manager reads the wall clock. */
  leasesUseWallClock?: boolean;
}

/** Every planted bug a lock schedule can switch on, by layer. */
export interface LockPlantedBugs {
  lock?: PlantedLockBugs;
  client?: ClientPlantedBugs;
  service?: LockServicePlantedBugs;
  misuse?: WallClockMisuse;
}

/** Everything one lock-level run depends on; with its seed it replays the run exactly. */
export interface LockSchedulePlan {
  /** Cluster, Raft network, disks and node faults (its own client load is off). */
  raft: SchedulePlan;
  /**
   * Bound on how much two clocks' rates differ (the clients' driftFactor): every process clock
   * runs at a rate in [1 − δ, 1 + δ] with (1 + δ)/(1 − δ) = 1/(1 − driftFactor).
   */
  driftFactor: number;
  /** The clients' fixed validity margin. */
  marginMs: number;
  keys: number;
  clients: ClientPlan[];
  /**
   * N of each key: 0 for a lock key, N > 0 for a semaphore key with N permits (for the whole
   * schedule). Absent in plans saved before the simulator had semaphores: every key is a lock.
   */
  semaphorePermits?: number[];
  /** How many clients, at the end of `clients`, use the semaphore key (absent: none). */
  semaphoreClients?: number;
  /**
   * The reader-writer key (absent: none): after the lock keys, before a semaphore key. Absent in
   * plans saved before the simulator had reader-writer locks.
   */
  rwKey?: number;
  /** How many clients, just before the semaphore clients, use the rw key (absent: none). */
  rwClients?: number;
  /**
   * The election key (named `election/key-<n>`), after the lock, rw and semaphore keys, and how
   * many clients, at the very end of `clients`, campaign for it or observe it. Absent: no election.
   */
  electionKey?: number;
  electionClients?: number;
  /** Client links: delay range and per-mille rates of resets and stalls. */
  clientDelayMsMin: number;
  clientDelayMsMax: number;
  clientResetPermille: number;
  clientStallPermille: number;
  /** One-way delay from a client to the fenced resource. */
  resourceDelayMsMax: number;
  clientFaults: ClientFaultStep[];
  plantedBugs?: LockPlantedBugs;
  /**
   * Limit flags of single nodes (by node id) over the ones every node runs with (absent: all
   * alike). The table limits are replicated through the log, so members started with different
   * flags must still apply every entry to the same result.
   */
  nodeLimits?: Record<string, NodeLimitFlags>;
}

/** The table limits a plan may set per node. */
export type NodeLimitFlags = Partial<
  Record<"waitersPerKeyMax" | "locksMax" | "semaphorePermitsMax", number>
>;
const NODE_LIMIT_NAMES: ReadonlySet<string> = new Set([
  "waitersPerKeyMax",
  "locksMax",
  "semaphorePermitsMax",
]);

/** Election timeout of a plan, the base of the TTL floor (TTL_MIN_ELECTION_TIMEOUTS × it). */
export function electionTimeoutMsOf(plan: SchedulePlan): number {
  return plan.electionTicks * plan.tickMs;
}

/** Largest TTL any op of the plan asks for. */
export function ttlMaxOf(plan: LockSchedulePlan): number {
  let ttlMs = 0;
  for (const client of plan.clients) {
    for (const op of client.ops) if ("ttlMs" in op) ttlMs = Math.max(ttlMs, op.ttlMs);
  }
  return ttlMs;
}

/** Rate bound δ of every process clock for a drift factor (see LockSchedulePlan.driftFactor). */
export function clockRateBound(driftFactor: number): number {
  return driftFactor / (2 - driftFactor);
}

/** Slack for a client's backoff, a reconnect and a request in the liveness bound. */
export const LOCK_LIVENESS_CLIENT_SLACK_MS = 1_000;

/**
 * After faults stop, every key must be acquirable within: the Raft liveness bound (a leader
 * elected and its entries committed), plus two TTLs on the slowest clock (a new leader gives every
 * lease, and every queued waiter's lease, a full TTL from its election; a dead waiter granted
 * just before it ran out holds one more TTL), plus the client's retry slack.
 */
export function lockLivenessBoundMs(plan: LockSchedulePlan, backlogEntries = 0): number {
  const slowest = 1 - clockRateBound(plan.driftFactor);
  return Math.ceil(
    livenessBoundMs(plan.raft, backlogEntries) +
      (2 * ttlMaxOf(plan)) / slowest +
      LOCK_LIVENESS_CLIENT_SLACK_MS,
  );
}

const CLIENT_FAULT_KINDS = new Set(["clientPause", "clientCrash", "clientPartition", "clockJump"]);
const OP_KINDS = new Set([
  "lock",
  "acquire",
  "semaphore",
  "rw",
  "campaign",
  "observe",
  "get",
  "staleRelease",
]);

/** Is `key` the plan's reader-writer key? */
export function isRwKey(plan: LockSchedulePlan, key: number): boolean {
  return plan.rwKey === key;
}

/** N of a key of the plan: 0 for a lock key, else the semaphore's permits. */
export function permitsOfKey(plan: LockSchedulePlan, key: number): number {
  return plan.semaphorePermits?.[key] ?? 0;
}

/** Is key `key` of the plan its election key? */
export function isElectionKey(plan: LockSchedulePlan, key: number): boolean {
  return plan.electionKey === key;
}

/** The name of key `key` of the plan: `key-<n>`, or `election/key-<n>` for the election key. */
export function keyNameOf(plan: LockSchedulePlan, key: number): string {
  return isElectionKey(plan, key) ? `${ELECTION_KEY_PREFIX}key-${key}` : `key-${key}`;
}

/**
/**
 * The plan's lock part alone: without its semaphore, reader-writer and election clients, their
 * faults and their keys. For a generated plan, this is the plan the same seed gave before those
 * primitives existed.
 */
export function lockPartOf(plan: LockSchedulePlan): LockSchedulePlan {
  const otherClients =
    (plan.semaphoreClients ?? 0) + (plan.rwClients ?? 0) + (plan.electionClients ?? 0);
  if (
    plan.semaphorePermits === undefined &&
    plan.rwKey === undefined &&
    plan.electionKey === undefined &&
    otherClients === 0
  ) {
    return structuredClone(plan);
  }
  const {
    semaphorePermits: _permits,
    semaphoreClients: _clients,
    rwKey: _rwKey,
    rwClients: _rwClients,
    electionKey: _electionKey,
    electionClients: _electionClients,
    ...rest
  } = structuredClone(plan);
  const lockClients = plan.clients.length - otherClients;
  let keys = plan.keys;
  const isOtherKey = (key: number): boolean =>
    permitsOfKey(plan, key) > 0 || isRwKey(plan, key) || isElectionKey(plan, key);
  while (keys > 1 && isOtherKey(keys - 1)) keys--;
  return {
    ...rest,
    keys,
    clients: rest.clients.slice(0, lockClients),
    clientFaults: rest.clientFaults.filter(
      (step) => !("client" in step) || step.client < lockClients,
    ),
  };
}

/** Does any client of the plan take the reader-writer key? */
export function hasRwOps(plan: LockSchedulePlan): boolean {
  return plan.clients.some((client) => client.ops.some((op) => op.kind === "rw"));
}

/** Does any client of the plan campaign in an election? */
export function hasCampaigns(plan: LockSchedulePlan): boolean {
  return plan.clients.some((client) => client.ops.some((op) => op.kind === "campaign"));
}

/** Does any client of the plan take semaphore permits? */
export function hasSemaphoreOps(plan: LockSchedulePlan): boolean {
  return plan.clients.some((client) => client.ops.some((op) => op.kind === "semaphore"));
}

/** Lock plan fields renamed to the `<noun><Unit><Qualifier>` rule (see PLAN_FIELD_RENAMES). */
export const LOCK_PLAN_FIELD_RENAMES: Readonly<Record<string, string>> = {
  clientMinDelayMs: "clientDelayMsMin",
  clientMaxDelayMs: "clientDelayMsMax",
  resourceMaxDelayMs: "resourceDelayMsMax",
};

/**
 * Checks a lock plan read from a file (renaming the fields of an older release); throws
 * PlanError naming what is wrong. Returns the plan with the current names.
 */
export function validateLockPlan(value: unknown): LockSchedulePlan {
  if (typeof value !== "object" || value === null) throw new PlanError("plan must be an object");
  const plan = renameFields(value, LOCK_PLAN_FIELD_RENAMES);
  plan.raft = validatePlan(plan.raft);
  for (const key of [
    "driftFactor",
    "marginMs",
    "keys",
    "clientDelayMsMin",
    "clientDelayMsMax",
    "clientResetPermille",
    "clientStallPermille",
    "resourceDelayMsMax",
  ]) {
    const field = plan[key];
    if (typeof field !== "number" || !Number.isFinite(field) || field < 0) {
      throw new PlanError(`plan.${key} must be a finite number ≥ 0`);
    }
  }
  if (!((plan.driftFactor as number) < 0.5)) throw new PlanError("plan.driftFactor must be < 0.5");
  if (!Number.isInteger(plan.keys) || (plan.keys as number) < 1) {
    throw new PlanError("plan.keys must be a positive integer");
  }
  if ((plan.clientResetPermille as number) > 1000 || (plan.clientStallPermille as number) > 1000) {
    throw new PlanError("client link rates must be ≤ 1000 per mille");
  }
  if ((plan.clientDelayMsMax as number) < (plan.clientDelayMsMin as number)) {
    throw new PlanError("plan.clientDelayMsMax must be ≥ clientDelayMsMin");
  }
  if (!Array.isArray(plan.clients) || plan.clients.length === 0) {
    throw new PlanError("plan.clients must be a non-empty array");
  }
  const permits = plan.semaphorePermits;
  if (permits !== undefined) {
    if (
      !Array.isArray(permits) ||
      permits.length !== plan.keys ||
      !permits.every((n) => Number.isInteger(n) && (n as number) >= 0)
    ) {
      throw new PlanError("plan.semaphorePermits must list an integer N ≥ 0 for every key");
    }
  }
  const clientCount = (plan.clients as unknown[]).length;
  const semaphoreClients = optionalIntegerIn(plan.semaphoreClients, 0, clientCount);
  if (semaphoreClients === null)
    throw new PlanError("plan.semaphoreClients must be an integer in [0, clients]");
  const rwKey = optionalIntegerIn(plan.rwKey, 0, (plan.keys as number) - 1);
  if (
    rwKey === null ||
    (rwKey !== undefined && permitsOfKey(plan as unknown as LockSchedulePlan, rwKey) > 0)
  )
    throw new PlanError("plan.rwKey must be a key in [0, keys) that is not a semaphore's");
  if (optionalIntegerIn(plan.rwClients, 0, clientCount - (semaphoreClients ?? 0)) === null)
    throw new PlanError("plan.rwClients must be an integer in [0, clients − semaphoreClients]");
  const electionKey = optionalIntegerIn(plan.electionKey, 0, (plan.keys as number) - 1);
  if (
    electionKey === null ||
    (electionKey !== undefined &&
      (permitsOfKey(plan as unknown as LockSchedulePlan, electionKey) > 0 || electionKey === rwKey))
  )
    throw new PlanError(
      "plan.electionKey must be a key in [0, keys) that is not a semaphore's or the rw key",
    );
  const electionClientsMax =
    clientCount - ((semaphoreClients ?? 0) + ((plan.rwClients as number | undefined) ?? 0));
  if (optionalIntegerIn(plan.electionClients, 0, electionClientsMax) === null)
    throw new PlanError(
      "plan.electionClients must be an integer in [0, clients − semaphoreClients − rwClients]",
    );
  validateNodeLimits(plan.nodeLimits);
  const permitsOf = (key: number): number => (permits as number[] | undefined)?.[key] ?? 0;
  for (const client of plan.clients as unknown[]) {
    const ops = (client as { ops?: unknown }).ops;
    if (!Array.isArray(ops)) throw new PlanError("every client needs an ops array");
    for (const op of ops as Record<string, unknown>[]) {
      if (typeof op !== "object" || op === null || !OP_KINDS.has(op.kind as string)) {
        throw new PlanError(`unknown client op ${JSON.stringify(op)}`);
      }
      const key = op.key;
      if (
        !Number.isInteger(key) ||
        (key as number) < 0 ||
        (key as number) >= (plan.keys as number)
      ) {
        throw new PlanError(`client op ${JSON.stringify(op)} names a key outside [0, keys)`);
      }
      const n = permitsOf(key as number);
      if (op.kind === "semaphore") {
        const count = op.count;
        if (n === 0 || !Number.isInteger(count) || (count as number) < 1 || (count as number) > n) {
          throw new PlanError(
            `client op ${JSON.stringify(op)} needs a semaphore key and 1 ≤ count ≤ its permits`,
          );
        }
      } else if ((op.kind === "lock" || op.kind === "acquire") && n > 0) {
        throw new PlanError(`client op ${JSON.stringify(op)} takes a semaphore key as a lock`);
      }
      if ((op.kind === "campaign" || op.kind === "observe") !== (key === electionKey)) {
        throw new PlanError(
          `client op ${JSON.stringify(op)}: only campaign and observe, and they only, use the election key`,
        );
      }
      if (
        (op.kind === "rw") !== (key === rwKey) &&
        op.kind !== "get" &&
        op.kind !== "staleRelease"
      ) {
        throw new PlanError(`client op ${JSON.stringify(op)} does not fit the kind of its key`);
      }
      if (op.kind === "rw" && op.mode !== "read" && op.mode !== "write") {
        throw new PlanError(`client op ${JSON.stringify(op)} needs mode read or write`);
      }
    }
  }
  if (!Array.isArray(plan.clientFaults)) throw new PlanError("plan.clientFaults must be an array");
  for (const step of plan.clientFaults as Record<string, unknown>[]) {
    if (typeof step !== "object" || step === null || !CLIENT_FAULT_KINDS.has(step.kind as string)) {
      throw new PlanError(`unknown client fault ${JSON.stringify(step)}`);
    }
    if (typeof step.atMs !== "number" || !(step.atMs >= 0)) {
      throw new PlanError(`client fault ${JSON.stringify(step)} needs atMs ≥ 0`);
    }
  }
  return plan as unknown as LockSchedulePlan;
}

/** An optional integer field: undefined if absent, null if not an integer in [min, max]. */
function optionalIntegerIn(value: unknown, min: number, max: number): number | undefined | null {
  if (value === undefined) return undefined;
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max
    ? (value as number)
    : null;
}

function validateNodeLimits(value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "object" || value === null)
    throw new PlanError("plan.nodeLimits must map node ids to limit flags");
  for (const flags of Object.values(value as Record<string, unknown>)) {
    if (typeof flags !== "object" || flags === null)
      throw new PlanError("plan.nodeLimits must map node ids to limit flags");
    for (const [name, limit] of Object.entries(flags as Record<string, unknown>))
      if (!NODE_LIMIT_NAMES.has(name) || !Number.isInteger(limit) || (limit as number) < 2)
        throw new PlanError(`plan.nodeLimits: ${name} must be a known limit, an integer ≥ 2`);
  }
}
