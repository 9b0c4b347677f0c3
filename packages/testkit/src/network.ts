import type { Prng } from "./prng.js";
import type { SimWorld } from "./world.js";
import { QueuedEvent } from "./event-queue.js";
import { LinkCuts } from "./link-cuts.js";
import { FaultyNetwork, faultValidator } from "./fault-settings.js";
import type { FaultKeys } from "./fault-settings.js";

/** How the network treats every message while no partition blocks its link. */
export interface NetworkFaults {
  /** Delivery delay is uniform in [delayMsMin, delayMsMax]. */
  delayMsMin: number;
  delayMsMax: number;
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice (the copy with its own delay). */
  duplicateRate: number;
  /** Probability that a message is held back by an extra delay, so later ones overtake it. */
  reorderRate: number;
  /** Upper bound of that extra delay. */
  reorderDelayMaxMs: number;
}

export const CALM_NETWORK: NetworkFaults = {
  delayMsMin: 0.5,
  delayMsMax: 2,
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelayMaxMs: 0,
};

const NETWORK_FAULT_KEYS: FaultKeys<NetworkFaults> = {
  delays: "delays",
  rates: ["dropRate", "duplicateRate", "reorderRate"],
  delayBounds: ["reorderDelayMaxMs"],
};

export const validateNetworkFaults = faultValidator(NETWORK_FAULT_KEYS);

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  /** Lost to a partition (at send or at delivery time). */
  blocked: number;
}

export type DeliveryHandler<T> = (payload: T, from: string) => void;

/**
 * A simulated message network between named endpoints. Each message gets its own delay (so
 * reordering happens naturally), may be dropped, duplicated or held back, and is lost when a
 * partition cuts its directed link at send time or at delivery time. Partitions are counted per
 * directed link so overlapping partitions heal independently.
 */
export class SimNetwork<T> extends FaultyNetwork<NetworkFaults> {
  readonly stats: NetworkStats = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    blocked: 0,
  };
  private readonly handlers = new Map<string, DeliveryHandler<T>>();
  private readonly cuts = new LinkCuts();

  constructor(
    private readonly world: SimWorld,
    private readonly random: Prng,
    faults: NetworkFaults,
  ) {
    super(faults, NETWORK_FAULT_KEYS);
  }

  /** Messages to an address without a handler are lost (a process that is not running). */
  register(address: string, handler: DeliveryHandler<T>): void {
    this.handlers.set(address, handler);
  }

  unregister(address: string): void {
    this.handlers.delete(address);
  }

  /** Cut the directed link from → to (one more time). */
  cut(from: string, to: string): void {
    this.cuts.cut(from, to);
  }

  /** Undo one cut() of the directed link from → to. */
  mend(from: string, to: string): void {
    this.cuts.mend(from, to);
  }

  mendAll(): void {
    this.cuts.mendAll();
  }

  isCut(from: string, to: string): boolean {
    return this.cuts.isCut(from, to);
  }

  get partitioned(): boolean {
    return this.cuts.any;
  }

  send(from: string, to: string, payload: T): void {
    this.stats.sent++;
    if (this.isCut(from, to)) {
      this.stats.blocked++;
      return;
    }
    const faults = this.faults;
    const random = this.random;
    if (random.chance(faults.dropRate)) {
      this.stats.dropped++;
      return;
    }
    this.schedule(from, to, payload);
    if (random.chance(faults.duplicateRate)) {
      this.stats.duplicated++;
      this.schedule(from, to, payload);
    }
  }

  private schedule(from: string, to: string, payload: T): void {
    const faults = this.faults;
    let delayMs = this.random.between(faults.delayMsMin, faults.delayMsMax);
    if (this.random.chance(faults.reorderRate)) {
      this.stats.reordered++;
      delayMs += this.random.between(0, faults.reorderDelayMaxMs);
    }
    this.world.afterEvent(delayMs, new Delivery(this, from, to, payload));
  }

  /** A message arrives (or is lost to a partition or a missing handler). */
  deliver(from: string, to: string, payload: T): void {
    if (this.isCut(from, to)) {
      this.stats.blocked++;
      return;
    }
    const handler = this.handlers.get(to);
    if (handler === undefined) {
      this.stats.dropped++;
      return;
    }
    this.stats.delivered++;
    handler(payload, from);
  }
}

/** A message in flight, queued as its own world event. */
class Delivery<T> extends QueuedEvent {
  constructor(
    private readonly network: SimNetwork<T>,
    private readonly from: string,
    private readonly to: string,
    private readonly payload: T,
  ) {
    super();
  }

  run(): void {
    this.network.deliver(this.from, this.to, this.payload);
  }
}
