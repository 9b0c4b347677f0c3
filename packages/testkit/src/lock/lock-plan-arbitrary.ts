import fc from "fast-check";
import { TTL_MIN_ELECTION_TIMEOUTS } from "@dlock/server/lock";
import type { PlanProfile } from "../plan-arbitrary.js";
import { planArbitrary } from "../plan-arbitrary.js";
import { electionTicksMin } from "../plan.js";
import type {
  ClientFaultStep,
  ClientOp,
  ClientPlan,
  LockPlantedBugs,
  LockSchedulePlan,
  RefreshMode,
} from "./lock-plan.js";
import { clockRateBound, electionTimeoutMsOf } from "./lock-plan.js";

/** Knobs of the lock schedule generator; the same must be given to replay a failure. */
export interface LockPlanArbitraryOptions {
  /** Cluster sizes to draw from. Default [3, 5]. */
  nodeCounts?: readonly number[];
  /** Fault phase length range in virtual ms. */
  faultPhaseMsMin?: number;
  faultPhaseMsMax?: number;
  /** Upper bounds of node fault steps and of client fault steps. */
  faultsMax?: number;
  clientFaultsMax?: number;
  /** The clients' drift factor; every clock is within it. Default 0.01. */
  driftFactor?: number;
  /** Shapes the Raft faults (see PlanProfile). Default "default". */
  profile?: PlanProfile;
  /** Narrows the workload and faults toward what a planted bug needs. Default "default". */
  lockProfile?: LockProfile;
  plantedBugs?: LockPlantedBugs & { raft?: LockSchedulePlan["raft"]["plantedBugs"] };
}

/**
 * default: everything varies. contention: few keys, many clients queueing with `wait`, holders
 * that walk away, long TTLs and a fast Raft network: handoffs to waiters and expiries right after
 * a client's validity ends, where a client that trusts its lease a little too long overlaps.
 * races: refreshes and renewals timed at the end of the validity, racing the leader's expiry.
 * stale: leaders cut off from their peers keep leading (no check-quorum, no pre-vote) while
 * clients still reach them and read.
 */
export type LockProfile = "default" | "contention" | "races" | "stale";

export const LOCK_PROFILES: readonly LockProfile[] = ["default", "contention", "races", "stale"];

export const DEFAULT_LOCK_FAULT_PHASE_MS_MIN = 1_500;
export const DEFAULT_LOCK_FAULT_PHASE_MS_MAX = 4_000;
export const DEFAULT_LOCK_FAULTS_MAX = 12;
export const DEFAULT_CLIENT_FAULTS_MAX = 10;
export const DEFAULT_DRIFT_FACTOR = 0.01;
/** The clients' validity margin (the Locker's default). */
export const LOCK_MARGIN_MS = 5;

/**
 * What every raw op draws about its timing. Durations in the workload are drawn relative to the
 * TTL floor, then made concrete.
 */
interface RawTiming {
  gapMs: number;
  /** TTL as a multiple of the floor, in per mille (1000 = the floor). */
  ttlPermille: number;
  /** Wait as a share of the TTL in per mille; 0 = no queueing. */
  waitPermille: number;
  retryLimit: number;
  retryIntervalMs: number;
  refresh: RefreshMode;
  /** Hold as a share of the TTL in per mille. */
  holdPermille: number;
}

/** A lock client's op. */
interface RawOp extends RawTiming {
  kind: Exclude<ClientOp["kind"], "semaphore" | "rw" | "campaign" | "observe">;
  key: number;
  writeEveryMs: number;
  end: "release" | "expire" | "renew";
  renewOffsetMs: number;
  zombieWrite: boolean;
}

/** A semaphore client's op. */
interface RawSemaphoreOp extends RawTiming {
  kind: "semaphore" | "get" | "staleRelease";
  /** Permits taken, reduced modulo the key's N. */
  count: number;
  end: "release" | "expire";
}

/** Share of schedules with a semaphore key and its clients, in per mille. */
export const SEMAPHORE_SCHEDULE_PERMILLE = 750;

/** Share of schedules with a reader-writer key and its clients, in per mille. */
export const RW_SCHEDULE_PERMILLE = 750;

/** An election client's op, drawn like RawOp (durations relative to the TTL floor). */
interface RawElectionOp {
  kind: "campaign" | "observe";
  gapMs: number;
  ttlPermille: number;
  waitPermille: number;
  holdPermille: number;
  /** How long an observe lasts, as a share of the fault phase in per mille. */
  forPermille: number;
}

/** Share of schedules with an election (campaigners and an observer), in per mille. */
export const ELECTION_SCHEDULE_PERMILLE = 700;

/** Omit over each member of a union (Omit of a union would merge its members). */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A generated client fault: as a ClientFaultStep, but timed as a share of the fault phase (`at`,
 * per mille), and a pause lasts a share of the longest TTL (`forPermille`).
 */
type RawClientFault =
  | { at: number; kind: "clientPause"; client: number; forPermille: number }
  | (OmitEach<Exclude<ClientFaultStep, { kind: "clientPause" }>, "atMs"> & { at: number });

/** fast-check arbitrary of whole lock schedules; shrinking reduces faults, clients and ops. */
export function lockPlanArbitrary(
  options: LockPlanArbitraryOptions = {},
): fc.Arbitrary<LockSchedulePlan> {
  const lockProfile = options.lockProfile ?? "default";
  const contention = lockProfile === "contention";
  const races = lockProfile === "races";
  const stale = lockProfile === "stale";
  const crowded = contention || races;
  const driftFactor = options.driftFactor ?? DEFAULT_DRIFT_FACTOR;
  const raftArbitrary = planArbitrary({
    nodeCounts: options.nodeCounts,
    faultPhaseMsMin: options.faultPhaseMsMin ?? DEFAULT_LOCK_FAULT_PHASE_MS_MIN,
    faultPhaseMsMax: options.faultPhaseMsMax ?? DEFAULT_LOCK_FAULT_PHASE_MS_MAX,
    faultsMax: options.faultsMax ?? DEFAULT_LOCK_FAULTS_MAX,
    profile: options.profile ?? (stale ? "staleVoter" : "default"),
    plantedBugs: options.plantedBugs?.raft,
  });

  const opArbitrary: fc.Arbitrary<RawOp> = fc.record({
    kind: fc.oneof(
      { weight: crowded ? 8 : 5, arbitrary: fc.constant("lock" as const) },
      { weight: races ? 6 : 2, arbitrary: fc.constant("acquire" as const) },
      { weight: stale ? 8 : 3, arbitrary: fc.constant("get" as const) },
      { weight: 1, arbitrary: fc.constant("staleRelease" as const) },
    ),
    gapMs: fc.integer({ min: 0, max: crowded ? 50 : 200 }),
    key: fc.integer({ min: 0, max: 2 }),
    ttlPermille: contention
      ? fc.integer({ min: 2000, max: 5000 })
      : fc.integer({ min: 1000, max: 3000 }),
    waitPermille: crowded
      ? fc.integer({ min: 200, max: 2000 })
      : fc.oneof(
          { weight: 3, arbitrary: fc.constant(0) },
          { weight: 2, arbitrary: fc.integer({ min: 200, max: 2000 }) },
        ),
    retryLimit: fc.integer({ min: 0, max: 3 }),
    retryIntervalMs: fc.integer({ min: 10, max: 100 }),
    refresh: fc.oneof(
      { weight: crowded ? 1 : 3, arbitrary: fc.constant<RefreshMode>("auto") },
      { weight: contention ? 3 : 1, arbitrary: fc.constant<RefreshMode>("none") },
      { weight: races ? 6 : 1, arbitrary: fc.constant<RefreshMode>("late") },
    ),
    holdPermille: fc.integer({ min: 0, max: 2000 }),
    writeEveryMs: fc.integer({ min: 2, max: 50 }),
    end: fc.oneof(
      { weight: crowded ? 1 : 3, arbitrary: fc.constant("release" as const) },
      { weight: contention ? 3 : 1, arbitrary: fc.constant("expire" as const) },
      { weight: races ? 6 : 1, arbitrary: fc.constant("renew" as const) },
    ),
    renewOffsetMs: fc.integer({ min: -10, max: 30 }),
    zombieWrite: fc.boolean(),
  });
  // Semaphore clients: an extra key with N permits and clients of their own, so the lock keys'
  // workload stays as it was; they share the cluster, the client network and the faults.
  const semaphoreOpArbitrary: fc.Arbitrary<RawSemaphoreOp> = fc.record({
    kind: fc.oneof(
      { weight: 6, arbitrary: fc.constant("semaphore" as const) },
      { weight: 1, arbitrary: fc.constant("get" as const) },
      { weight: 1, arbitrary: fc.constant("staleRelease" as const) },
    ),
    gapMs: fc.integer({ min: 0, max: crowded ? 50 : 200 }),
    count: fc.integer({ min: 1, max: 4 }),
    ttlPermille: fc.integer({ min: 1000, max: 3000 }),
    waitPermille: fc.oneof(
      { weight: 1, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.integer({ min: 200, max: 2000 }) },
    ),
    retryLimit: fc.integer({ min: 0, max: 3 }),
    retryIntervalMs: fc.integer({ min: 10, max: 100 }),
    refresh: fc.oneof(
      { weight: 2, arbitrary: fc.constant<RefreshMode>("auto") },
      { weight: 1, arbitrary: fc.constant<RefreshMode>("none") },
      { weight: races ? 3 : 1, arbitrary: fc.constant<RefreshMode>("late") },
    ),
    holdPermille: fc.integer({ min: 0, max: 2000 }),
    end: fc.constantFrom("release" as const, "expire" as const),
  });

  // Election clients: campaigners (which observe now and then) and one observer, on an election
  // key of their own after the other keys; like the semaphore clients, drawn after everything else.
  const electionOpArbitrary = (observeWeight: number): fc.Arbitrary<RawElectionOp> =>
    fc.record({
      kind: fc.oneof(
        { weight: 4, arbitrary: fc.constant("campaign" as const) },
        { weight: observeWeight, arbitrary: fc.constant("observe" as const) },
      ),
      gapMs: fc.integer({ min: 0, max: crowded ? 50 : 200 }),
      ttlPermille: fc.integer({ min: 1000, max: 3000 }),
      waitPermille: fc.integer({ min: 200, max: 2000 }),
      holdPermille: fc.integer({ min: 0, max: 3000 }),
      forPermille: fc.integer({ min: 200, max: 1000 }),
    });
  const observerOpArbitrary = electionOpArbitrary(0).map((op) => ({
    ...op,
    kind: "observe" as const,
  }));

  const clientArbitrary = fc.record({
    ops: fc.array(opArbitrary, { minLength: 1, maxLength: 12 }),
    // Stale profile: some clients only read, so they stay with whichever node answers reads.
    reader: stale ? fc.boolean() : fc.constant(false),
  });
  const at = fc.integer({ min: 0, max: 999 });
  const clientIndex = fc.integer({ min: 0, max: 7 });
  const clientFaultArbitrary: fc.Arbitrary<RawClientFault> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        at,
        kind: fc.constant("clientPause" as const),
        client: clientIndex,
        forPermille: fc.integer({ min: 20, max: 3000 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        at,
        kind: fc.constant("clientCrash" as const),
        client: clientIndex,
        downMs: fc.integer({ min: 0, max: 1000 }),
      }),
    },
    {
      weight: stale ? 1 : 3,
      arbitrary: fc.record({
        at,
        kind: fc.constant("clientPartition" as const),
        client: clientIndex,
        nodes: fc.constantFrom("leader" as const, "all" as const, "some" as const),
        oneWay: fc.boolean(),
        forMs: fc.integer({ min: 50, max: 1500 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        at,
        kind: fc.constant("clockJump" as const),
        target: fc.constantFrom("node" as const, "client" as const),
        deltaMs: fc.integer({ min: -3_600_000, max: 3_600_000 }),
      }),
    },
  );

  // A group of clients of one extra key: N, the clients' ops, and their own pauses, crashes and
  // partitions (clock jumps stay with the lock clients).
  const sharedKeyArbitrary = (clientsMax: number) =>
    fc.record({
      drawPermille: fc.integer({ min: 0, max: 999 }),
      permits: fc.integer({ min: 1, max: 4 }),
      clients: fc.array(fc.array(semaphoreOpArbitrary, { minLength: 1, maxLength: 6 }), {
        minLength: 2,
        maxLength: clientsMax,
      }),
      clientFaults: fc.array(
        clientFaultArbitrary.filter((fault) => fault.kind !== "clockJump"),
        { maxLength: Math.ceil((options.clientFaultsMax ?? DEFAULT_CLIENT_FAULTS_MAX) / 2) },
      ),
    });
  const semaphoreArbitrary = sharedKeyArbitrary(3);
  // Reader-writer clients draw their ops like a semaphore's: `count` 1-2 reads, 3-4 writes.
  const rwArbitrary = sharedKeyArbitrary(4);

  const electionArbitrary = fc.record({
    drawPermille: fc.integer({ min: 0, max: 999 }),
    campaigners: fc.array(fc.array(electionOpArbitrary(1), { minLength: 1, maxLength: 5 }), {
      minLength: 2,
      maxLength: 3,
    }),
    observer: fc.array(observerOpArbitrary, { minLength: 1, maxLength: 3 }),
    clientFaults: fc.array(
      clientFaultArbitrary.filter((fault) => fault.kind !== "clockJump"),
      { maxLength: Math.ceil((options.clientFaultsMax ?? DEFAULT_CLIENT_FAULTS_MAX) / 2) },
    ),
  });

  return fc
    .record({
      raft: raftArbitrary,
      keys: crowded ? fc.integer({ min: 1, max: 2 }) : fc.integer({ min: 1, max: 3 }),
      clients: fc.array(clientArbitrary, {
        minLength: crowded ? 3 : 2,
        maxLength: crowded ? 6 : 5,
      }),
      clientDelayMsMin: fc.integer({ min: 0, max: 3 }),
      clientDelaySpreadMs: contention
        ? fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 20 }))
        : fc.integer({ min: 0, max: 20 }),
      clientResetPermille: fc.integer({ min: 0, max: 30 }),
      clientStallPermille: fc.integer({ min: 0, max: 50 }),
      resourceDelayMsMax: fc.integer({ min: 0, max: 30 }),
      clientFaults: fc.array(clientFaultArbitrary, {
        maxLength: options.clientFaultsMax ?? DEFAULT_CLIENT_FAULTS_MAX,
      }),
      // Drawn last, so every field above comes out as it did before semaphores existed.
      semaphore: semaphoreArbitrary,
      // And after it, so the semaphore part is as it was before reader-writer locks.
      rw: rwArbitrary,
      // And after it, so semaphore plans come out as they did before elections existed.
      election: electionArbitrary,
    })
    .map((raw): LockSchedulePlan => {
      const raft = {
        ...raw.raft,
        // Node pauses up to 2.4 s: longer than any TTL, so paused leaders come back to find
        // their leases long gone and a new leader in charge.
        faults: raw.raft.faults.map((step) =>
          step.kind === "pause" ? { ...step, forMs: step.forMs * 3 } : step,
        ),
        // The lock clients are the load; small uncommitted limits would refuse most of it.
        proposalIntervalMs: 0,
        uncommittedBytesMax: raw.raft.uncommittedBytesMax * 16,
        clockDriftPermille: clockRateBound(driftFactor) * 1000,
      };
      if (contention) {
        // A fast Raft network: expiries commit within a few ms of the leader's deadline.
        raft.delayMsMax = raft.delayMsMin + Math.floor((raft.delayMsMax - raft.delayMsMin) / 5);
        raft.fsyncMsMax = raft.fsyncMsMin + Math.floor((raft.fsyncMsMax - raft.fsyncMsMin) / 5);
      }
      if (stale) {
        // Leaders keep leading when cut off, so clients that still reach them see a stale one:
        // every other partition cuts the current leader off from its peers for a while.
        raft.checkQuorum = false;
        raft.preVote = false;
        raft.faults = raft.faults.map((step, i) =>
          step.kind === "partition" && i % 2 === 0
            ? { ...step, shape: "isolateLeader" as const, forMs: Math.max(step.forMs, 1000) }
            : step,
        );
      }
      raft.electionTicks = Math.max(raft.electionTicks, electionTicksMin(raft));
      const lockKeys = raw.keys;
      const semaphore =
        raw.semaphore.drawPermille < SEMAPHORE_SCHEDULE_PERMILLE ? raw.semaphore : null;
      const rw = raw.rw.drawPermille < RW_SCHEDULE_PERMILLE ? raw.rw : null;
      const election = raw.election.drawPermille < ELECTION_SCHEDULE_PERMILLE ? raw.election : null;
      // After the lock keys (lock ops name keys below lockKeys only) come the rw key, the
      // semaphore key and the election key, each when drawn; their clients come after the lock
      // clients, in the same order.
      const rwKey = rw === null ? null : lockKeys;
      const semaphoreKey = lockKeys + (rw === null ? 0 : 1);
      const electionKey = semaphoreKey + (semaphore === null ? 0 : 1);
      const keys = electionKey + (election === null ? 0 : 1);
      const ttlFloorMs = TTL_MIN_ELECTION_TIMEOUTS * electionTimeoutMsOf(raft);
      const ops = (rawOps: RawOp[]): ClientOp[] => rawOps.map((op) => concreteOp(op));
      const concreteOp = (op: RawOp): ClientOp => {
        const key = op.key % lockKeys;
        const { ttlMs, holdMs } = leaseDurationsOf(op, ttlFloorMs);
        switch (op.kind) {
          case "lock":
            return {
              kind: "lock",
              gapMs: op.gapMs,
              key,
              ...queuedTiming(op, ttlFloorMs),
              writeEveryMs: op.writeEveryMs,
              end: op.end === "renew" ? "expire" : op.end,
              zombieWrite: op.zombieWrite,
            };
          case "acquire":
            return {
              kind: "acquire",
              gapMs: op.gapMs,
              key,
              ttlMs,
              holdMs,
              writeEveryMs: op.writeEveryMs,
              end: op.end,
              renewOffsetMs: op.renewOffsetMs,
              zombieWrite: op.zombieWrite,
            };
          case "get":
            return { kind: "get", gapMs: op.gapMs, key };
          case "staleRelease":
            return { kind: "staleRelease", gapMs: op.gapMs, key };
        }
      };
      const clients: ClientPlan[] = raw.clients.map((client) => ({
        ops: client.reader
          ? [...client.ops, ...client.ops, ...client.ops].map((op) => ({
              kind: "get",
              gapMs: op.gapMs,
              key: op.key % lockKeys,
            }))
          : ops(client.ops),
      }));
      if (rw !== null) {
        for (const rawOps of rw.clients)
          clients.push({ ops: rawOps.map((op) => rwOpOf(op, rwKey!, ttlFloorMs)) });
      }
      if (semaphore !== null) {
        const permits = semaphore.permits;
        for (const rawOps of semaphore.clients) {
          clients.push({
            ops: rawOps.map((op) => semaphoreOpOf(op, semaphoreKey, permits, ttlFloorMs)),
          });
        }
      }
      const semaphoreClientsEnd = clients.length;
      if (election !== null) {
        const phaseMs = raft.faultPhaseMs;
        for (const rawOps of [...election.campaigners, election.observer]) {
          clients.push({
            ops: rawOps.map((op) => electionOpOf(op, electionKey, ttlFloorMs, phaseMs)),
          });
        }
      }
      const ttlMsMax = Math.ceil(ttlFloorMs * (contention ? 5 : 3));
      const rwClients = rw?.clients.length ?? 0;
      const lockClients = semaphoreClientsEnd - rwClients - (semaphore?.clients.length ?? 0);
      // Lock clients' faults name lock clients only; the other primitives' clients name theirs.
      const faultsOf = (faults: RawClientFault[], first: number, end: number) =>
        faults.map((fault) => ({ fault, first, count: end - first }));
      const clientFaults: ClientFaultStep[] = [
        ...faultsOf(raw.clientFaults, 0, lockClients),
        ...faultsOf(semaphore?.clientFaults ?? [], lockClients + rwClients, semaphoreClientsEnd),
        ...faultsOf(rw?.clientFaults ?? [], lockClients, lockClients + rwClients),
        ...faultsOf(election?.clientFaults ?? [], semaphoreClientsEnd, clients.length),
      ]
        .map(({ fault, first, count }): ClientFaultStep => {
          const atMs = Math.floor((fault.at * raft.faultPhaseMs) / 1000);
          const { at: _at, ...step } = fault;
          switch (step.kind) {
            case "clientPause":
              return {
                atMs,
                kind: "clientPause",
                client: first + (step.client % count),
                forMs: Math.floor((ttlMsMax * step.forPermille) / 1000),
              };
            case "clockJump":
              return { atMs, ...step };
            default:
              return { atMs, ...step, client: first + (step.client % count) };
          }
        })
        .sort((a, b) => a.atMs - b.atMs);
      const plan: LockSchedulePlan = {
        raft,
        driftFactor,
        marginMs: LOCK_MARGIN_MS,
        keys,
        clients,
        ...(semaphore === null
          ? {}
          : {
              semaphorePermits: Array.from({ length: keys }, (_, i) =>
                i === semaphoreKey ? semaphore.permits : 0,
              ),
              semaphoreClients: semaphore.clients.length,
            }),
        ...(rw === null ? {} : { rwKey: rwKey!, rwClients }),
        ...(election === null
          ? {}
          : { electionKey, electionClients: clients.length - semaphoreClientsEnd }),
        clientDelayMsMin: raw.clientDelayMsMin,
        clientDelayMsMax: raw.clientDelayMsMin + raw.clientDelaySpreadMs,
        clientResetPermille: raw.clientResetPermille,
        clientStallPermille: raw.clientStallPermille,
        resourceDelayMsMax: raw.resourceDelayMsMax,
        clientFaults,
      };
      const bugs = options.plantedBugs;
      if (bugs !== undefined) {
        const { raft: _raftBugs, ...lockBugs } = bugs;
        if (Object.keys(lockBugs).length > 0) plan.plantedBugs = structuredClone(lockBugs);
      }
      return plan;
    });
}

/** A reader-writer client's op (drawn as a semaphore's), made concrete for the rw key `key`. */
function rwOpOf(op: RawSemaphoreOp, key: number, ttlFloorMs: number): ClientOp {
  const drawn = semaphoreOpOf(op, key, 1, ttlFloorMs);
  if (drawn.kind !== "semaphore") return drawn;
  const { count: _count, ...rest } = drawn;
  return { ...rest, kind: "rw", mode: op.count <= 2 ? "read" : "write" };
}

/** A semaphore client's op, made concrete for the semaphore key `key` with N = `permits`. */
function semaphoreOpOf(
  op: RawSemaphoreOp,
  key: number,
  permits: number,
  ttlFloorMs: number,
): ClientOp {
  if (op.kind !== "semaphore") return { kind: op.kind, gapMs: op.gapMs, key };
  return {
    kind: "semaphore",
    gapMs: op.gapMs,
    key,
    count: 1 + ((op.count - 1) % permits),
    ...queuedTiming(op, ttlFloorMs),
    end: op.end,
  };
}

/** The TTL, wait, retries and hold of a queued acquire (lock or semaphore), made concrete. */
function queuedTiming(op: RawTiming, ttlFloorMs: number) {
  const { ttlMs, waitMs, holdMs } = leaseDurationsOf(op, ttlFloorMs);
  return {
    ttlMs,
    waitMs,
    retryLimit: op.retryLimit,
    retryIntervalMs: op.retryIntervalMs,
    // The client's default share (a quarter of the interval).
    retryJitterMs: Math.floor(op.retryIntervalMs / 4),
    refresh: op.refresh,
    holdMs,
  };
}

/** An election client's op, made concrete for the election key `key`. */
function electionOpOf(
  op: RawElectionOp,
  key: number,
  ttlFloorMs: number,
  faultPhaseMs: number,
): ClientOp {
  if (op.kind === "observe") {
    return {
      kind: "observe",
      gapMs: op.gapMs,
      key,
      forMs: Math.floor((faultPhaseMs * op.forPermille) / 1000),
    };
  }
  return { kind: "campaign", gapMs: op.gapMs, key, ...leaseDurationsOf(op, ttlFloorMs) };
}

/** An op's TTL (a share of the TTL floor), wait and hold (shares of that TTL), in ms. */
function leaseDurationsOf(
  op: { ttlPermille: number; waitPermille: number; holdPermille: number },
  ttlFloorMs: number,
): { ttlMs: number; waitMs: number; holdMs: number } {
  const ttlMs = Math.ceil((ttlFloorMs * op.ttlPermille) / 1000);
  return {
    ttlMs,
    waitMs: Math.floor((ttlMs * op.waitPermille) / 1000),
    holdMs: Math.floor((ttlMs * op.holdPermille) / 1000),
  };
}
