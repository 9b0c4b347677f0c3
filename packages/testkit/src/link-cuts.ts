/**
 * The cut directed links of a simulated network (peer or client), counted: partitions can
 * overlap, and a link is cut while any of them still cuts it. Kept by sender, then receiver, so
 * the check every message makes builds no key.
 */
export class LinkCuts {
  private readonly counts = new Map<string, Map<string, number>>();

  /** Cut the directed link from → to (one more time). */
  cut(from: string, to: string): void {
    let targets = this.counts.get(from);
    if (targets === undefined) {
      targets = new Map();
      this.counts.set(from, targets);
    }
    targets.set(to, (targets.get(to) ?? 0) + 1);
  }

  /** Undo one cut() of the directed link from → to. */
  mend(from: string, to: string): void {
    const targets = this.counts.get(from);
    if (targets === undefined) return;
    const count = targets.get(to) ?? 0;
    if (count > 1) {
      targets.set(to, count - 1);
      return;
    }
    targets.delete(to);
    if (targets.size === 0) this.counts.delete(from);
  }

  mendAll(): void {
    this.counts.clear();
  }

  isCut(from: string, to: string): boolean {
    return this.counts.size > 0 && this.counts.get(from)?.has(to) === true;
  }

  /** Some link is cut. */
  get any(): boolean {
    return this.counts.size > 0;
  }
}
