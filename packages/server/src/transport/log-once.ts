// Remembers which (subject, reason) pairs were already logged, so a peer that keeps failing the
// same way (wrong cluster id, refused connection) is logged once instead of on every retry.
// Bounded: beyond `entriesMax` keys, the oldest are forgotten (a flood of garbage connections
// must not grow memory).

export class LogOnce {
  private readonly seen = new Set<string>();
  constructor(private readonly entriesMax = 1024) {}

  /** True the first time this pair is seen (since the last forget of the subject). */
  first(subject: string, reason: string): boolean {
    const key = subject + "\u0000" + reason;
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.entriesMax) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.add(key);
    return true;
  }

  /** Forget every reason of `subject` (e.g. once the peer connects fine again). */
  forget(subject: string): void {
    const prefix = subject + "\u0000";
    for (const key of this.seen) if (key.startsWith(prefix)) this.seen.delete(key);
  }
}
