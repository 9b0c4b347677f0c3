// The shared resource the clients protect: it remembers the highest fencing token it accepted
// per key and rejects writes with a lower one (Chubby's sequencers, Kleppmann's fencing).
import type { History } from "./history.js";

export class FencedResource {
  private readonly highest = new Map<string, number>();

  constructor(private readonly history: History) {}

  write(client: string, key: string, token: number, believedValid: boolean): boolean {
    const accepted = token >= (this.highest.get(key) ?? 0);
    if (accepted) this.highest.set(key, token);
    this.history.writes.push({
      client,
      key,
      token,
      atMs: this.history.now(),
      accepted,
      believedValid,
    });
    return accepted;
  }
}
