/**
 * The cut directed links of a simulated network (peer or client), counted: partitions can
 * overlap, and a link is cut while any of them still cuts it.
 */
export class LinkCuts {
  private readonly counts = new Map<string, number>();

  /** Cut the directed link from → to (one more time). */
  cut(from: string, to: string): void {
    const key = `${from}>${to}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Undo one cut() of the directed link from → to. */
  mend(from: string, to: string): void {
    const key = `${from}>${to}`;
    const count = this.counts.get(key) ?? 0;
    if (count <= 1) this.counts.delete(key);
    else this.counts.set(key, count - 1);
  }

  mendAll(): void {
    this.counts.clear();
  }

  isCut(from: string, to: string): boolean {
    return this.counts.size > 0 && this.counts.has(`${from}>${to}`);
  }

  /** Some link is cut. */
  get any(): boolean {
    return this.counts.size > 0;
  }
}
