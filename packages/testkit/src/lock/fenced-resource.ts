import type { Prng } from "../prng.js";
import type { AsyncWorld } from "./async-world.js";
import type { ResourceWrite } from "./lock-history.js";

/**
 * A storage service that checks fencing tokens (Chubby's sequencers, Kleppmann's fencing): it
 * remembers the highest token it has accepted per key and rejects writes that carry a lower one.
 * The one resource of both the simulator and the chaos runs: `deliver` decides when a write sent
 * now arrives (at once by default; `delayed` gives the simulator's one-way delays, so a write
 * issued just before a holder lost its lock can arrive after the next holder's).
 */
export class FencedResource {
  private readonly highest = new Map<string, number>();
  accepted = 0;
  rejected = 0;

  constructor(
    private readonly nowMs: () => number,
    private readonly deliver: (arrive: () => void) => void = (arrive) => arrive(),
  ) {}

  /** A resource in the simulated world whose writes arrive after up to `delayMsMax`. */
  static delayed(world: AsyncWorld, random: Prng, delayMsMax: number): FencedResource {
    return new FencedResource(
      () => world.nowMs,
      (arrive) => world.world.after(random.between(0, delayMsMax), arrive),
    );
  }

  /** Sends `write` (issued now); it is decided when it arrives (`accepted`, `arriveMs`). */
  send(write: ResourceWrite): void {
    this.deliver(() => this.arrive(write));
  }

  private arrive(write: ResourceWrite): void {
    write.arriveMs = this.nowMs();
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
