// Metrics per primitive (exclusive lock, counting semaphore, reader-writer lock "rw"): how many
// are held and waiting now,
// and how many grants and expiries this node applied. Every member applies every entry, so each
// node's counters tell the cluster's story; the gauges are read from the table at scrape time.
import { Gauge } from "prom-client";
import type { Registry } from "prom-client";
import type { LockResult } from "../lock/index.js";
import { permitGrantsOf } from "../lock/index.js";
import { TalliedCounter } from "./metric-tallies.js";
import type { CounterTally } from "./metric-tallies.js";

export const PRIMITIVES = ["lock", "semaphore", "rw"] as const;
export type Primitive = (typeof PRIMITIVES)[number];

/**
 * Held and waiting now, per primitive: locks held, semaphore permits held, reader-writer holders
 * (each reader and each writer counts 1), queued acquires.
 */
export type PrimitiveGauges = Record<Primitive, { held: number; waiting: number }>;

/** The gauges read from the table at scrape time, one series per primitive. */
const GAUGES = [
  {
    name: "dlock_primitive_held",
    help: "Held now, by primitive: locks held, semaphore permits held, reader-writer holders.",
    field: "held",
  },
  { name: "dlock_primitive_waiting", help: "Acquires queued now, by primitive.", field: "waiting" },
] as const;

export class PrimitiveMetrics {
  /** Per primitive; every member applies every entry, so these count once per applied result. */
  private readonly grants = {} as Record<Primitive, CounterTally>;
  private readonly expiries = {} as Record<Primitive, CounterTally>;
  private source: (() => PrimitiveGauges) | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    const read = (): PrimitiveGauges | undefined => {
      try {
        return this.source?.();
      } catch {
        return undefined; // A failing source leaves the gauges out of this scrape.
      }
    };
    for (const gauge of GAUGES) {
      new Gauge<"primitive">({
        name: gauge.name,
        help: gauge.help,
        labelNames: ["primitive"],
        registers,
        collect() {
          const gauges = read();
          if (gauges)
            for (const p of PRIMITIVES) this.set({ primitive: p }, gauges[p][gauge.field]);
        },
      });
    }
    const grants = new TalliedCounter({
      name: "dlock_primitive_grants_total",
      help: "Grants applied by this node, by primitive (a holder's renewal is not a grant).",
      labelNames: ["primitive"],
      registers,
    });
    const expiries = new TalliedCounter({
      name: "dlock_primitive_expiries_total",
      help: "Leases ended by expiry applied by this node, by primitive.",
      labelNames: ["primitive"],
      registers,
    });
    for (const p of PRIMITIVES) {
      this.grants[p] = grants.tally(p);
      this.expiries[p] = expiries.tally(p);
    }
  }

  /** Wire the table after construction (it is built after the metrics). */
  setSource(source: () => PrimitiveGauges): void {
    this.source = source;
  }

  /** Counts the grants and expiries among applied results. */
  observe(results: ReadonlyArray<LockResult | undefined>): void {
    for (const result of results) {
      if (result === undefined) continue;
      const permitGrants = permitGrantsOf(result).length;
      if (permitGrants > 0)
        this.grants[(result as { rw?: true }).rw ? "rw" : "semaphore"].value += permitGrants;
      switch (result.type) {
        case "granted":
          if (!result.renewed) this.grants[primitiveOf(result)].value++;
          break;
        case "released":
        case "delayCleared":
          if (result.next !== null) this.grants.lock.value++;
          break;
        case "expired":
          this.expiries[primitiveOf(result)].value++;
          if (result.next !== null) this.grants.lock.value++;
          break;
        default:
          break;
      }
    }
  }
}

function primitiveOf(result: { permit?: true; rw?: true }): Primitive {
  if (result.rw === true) return "rw";
  return result.permit === true ? "semaphore" : "lock";
}
