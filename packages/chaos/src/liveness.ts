// Liveness after the heal: once every fault is gone and every client has stopped, each primitive
// must be usable again within an election, a TTL and a margin: every lock key taken, the whole of
// the semaphore (all N permits: none leaked), the reader-writer key as its writer (no reader or
// writer left), and the election led. Each probe is recorded like a client's grant, so the checks
// hold it to the same rules.
import { electionKey } from "@dlock/client";
import type { Lock, Locker, ReleaseOutcome } from "@dlock/client";
import { TcpTransport, createLocker } from "@dlock/client/internal";
import type { ChaosCluster } from "./chaos-cluster.js";
import { ELECTION_NAME } from "./election-clients.js";
import type { History, OpKind } from "./history.js";
import { RW_KEY } from "./rw-clients.js";
import { SEMAPHORE_KEY, SEMAPHORE_PERMITS } from "./semaphore-clients.js";
import { RecordingTransport } from "./wire-recorder.js";

export type Primitive = "lock" | "semaphore" | "rw" | "election";

export interface LivenessResult {
  /** The slowest probe, and the slowest of each primitive (null: none of it succeeded). */
  worstMs: number;
  worstMsByPrimitive: Record<Primitive, number | null>;
  boundMs: number;
  failures: string[];
}

interface Probe {
  primitive: Primitive;
  kind: OpKind;
  key: string;
  /** The op's detail when granted, and what the holder believes it holds beyond the key. */
  detail?: string;
  grant: { permit?: { permits: number; count: number }; rw?: "read" | "write" };
  /** Takes it; `end` gives it back (a release, or a resignation). */
  take(locker: Locker, waitMs: number, ttlMs: number): Promise<Held>;
}

interface Held {
  fencingToken: number;
  end(): Promise<ReleaseOutcome>;
}

const held = (lock: Lock): Held => ({
  fencingToken: lock.fencingToken,
  end: () => lock.release(),
});

const VALUE = "final";

function probes(keys: number): Probe[] {
  const locks = Array.from({ length: keys }, (_, i): Probe => ({
    primitive: "lock",
    kind: "acquire",
    key: `key-${i + 1}`,
    grant: {},
    take: async (locker, wait, ttl) =>
      held(await locker.lock(`key-${i + 1}`, VALUE, { ttl, wait })),
  }));
  const permit = { permits: SEMAPHORE_PERMITS, count: SEMAPHORE_PERMITS };
  return [
    ...locks,
    {
      primitive: "semaphore",
      kind: "semaphore",
      key: SEMAPHORE_KEY,
      detail: `×${permit.count}`,
      grant: { permit },
      take: async (locker, wait, ttl) =>
        held(await locker.semaphore(SEMAPHORE_KEY, VALUE, { ttl, wait, ...permit })),
    },
    {
      primitive: "rw",
      kind: "rw",
      key: RW_KEY,
      detail: "write",
      grant: { rw: "write" },
      take: async (locker, wait, ttl) => held(await locker.writeLock(RW_KEY, VALUE, { ttl, wait })),
    },
    {
      primitive: "election",
      kind: "campaign",
      key: electionKey(ELECTION_NAME),
      grant: {},
      take: async (locker, wait, ttl) => {
        const leadership = await locker.campaign(ELECTION_NAME, VALUE, { ttl, wait });
        return { fencingToken: leadership.fencingToken, end: () => leadership.resign() };
      },
    },
  ];
}

/** Runs every probe at once after the heal; `ttlMs` is the clients' TTL, `electionMs` the servers'. */
export async function probeLiveness(
  chaos: ChaosCluster,
  history: History,
  options: { keys: number; ttlMs: number; electionMs: number },
): Promise<LivenessResult> {
  const boundMs = options.ttlMs + 2 * options.electionMs + 5_000;
  const locker = createLocker({
    endpoints: chaos.endpoints(),
    clusterId: "dlock-chaos",
    clientId: VALUE,
    unavailableTimeoutMs: boundMs,
    transport: new RecordingTransport(new TcpTransport(), VALUE, history.wire, () => history.now()),
  });
  const failures: string[] = [];
  const worstMsByPrimitive: Record<Primitive, number | null> = {
    lock: null,
    semaphore: null,
    rw: null,
    election: null,
  };
  try {
    await Promise.all(
      probes(options.keys).map(async (probe) => {
        const op = history.begin(probe.kind, VALUE, probe.key, VALUE);
        const started = performance.now();
        let lock: Held;
        try {
          lock = await probe.take(locker, boundMs, options.ttlMs);
        } catch (error) {
          history.end(op, "error", null, String(error));
          failures.push(
            `${probe.primitive} ${probe.key} could not be taken within ${boundMs} ms after the heal: ${String(error)}`,
          );
          return;
        }
        history.end(op, "ok", lock.fencingToken, probe.detail);
        const tookMs = Math.round(performance.now() - started);
        const worst = worstMsByPrimitive[probe.primitive];
        worstMsByPrimitive[probe.primitive] = worst === null ? tookMs : Math.max(worst, tookMs);
        const belief = history.beginBelief(
          VALUE,
          probe.key,
          VALUE,
          lock.fencingToken,
          probe.grant.permit,
          probe.grant.rw,
        );
        history.endBelief(belief, "released");
        await lock.end();
      }),
    );
  } finally {
    await locker.close();
  }
  const worstMs = Math.max(0, ...Object.values(worstMsByPrimitive).map((ms) => ms ?? 0));
  return { worstMs, worstMsByPrimitive, boundMs, failures };
}
