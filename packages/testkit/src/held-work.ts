/**
 * The work a paused simulated process holds (deliveries, disk completions, timers) until it
 * resumes. Resuming runs it in order; if the work itself pauses the process again, what is left
 * is held again, after anything held meanwhile.
 */
export class HeldWork {
  private queue: (() => void)[] = [];

  hold(run: () => void): void {
    this.queue.push(run);
  }

  /** A crash or a restart: the held work of the old incarnation is void. */
  drop(): void {
    this.queue = [];
  }

  /** Runs the held work in order while `running()` is true; the rest stays held. */
  runWhile(running: () => boolean): void {
    const work = this.queue;
    this.queue = [];
    for (const run of work) {
      if (running()) run();
      else this.queue.push(run);
    }
  }
}
