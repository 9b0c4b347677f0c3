import type { Prng } from "../prng.js";
import type { AsyncWorld } from "./async-world.js";
import type { ResourceWrite } from "./lock-history.js";

/**
 * A storage service that checks fencing tokens (Chubby's sequencers, Kleppmann's fencing): it
 * remembers the highest token it has accepted per key and rejects writes that carry a lower one.
 * Writes reach it after a one-way delay of up to `maxDelayMs`, so a write issued just before a
 * holder lost its lock can arrive after the next holder's.
 */
export class FencedResource {
  private readonly highest = new Map<string, number>();
  accepted = 0;
  rejected = 0;

  constructor(
    private readonly world: AsyncWorld,
    private readonly random: Prng,
    private readonly maxDelayMs: number,
  ) {}

  /** Sends `write` (issued now); it is decided when it arrives. */
  send(write: ResourceWrite): void {
    const delayMs = this.random.between(0, this.maxDelayMs);
    this.world.world.after(delayMs, () => this.arrive(write));
  }

  private arrive(write: ResourceWrite): void {
    write.arriveMs = this.world.nowMs;
    const highest = this.highest.get(write.key) ?? 0;
    write.accepted = write.token >= highest;
    if (write.accepted) {
      this.highest.set(write.key, write.token);
      this.accepted++;
    } else {
      this.rejected++;
    }
  }
}
