// A watcher alongside the chaos workload, and what its events must show: committed order (no
// duplicate, revisions never going back), every acknowledged grant seen (unless the watcher had
// to list again, which it reports), and per key one holder at a time with growing tokens.
import { Locker, WatchRevisionCompactedError } from "@dlock/client";
import type { WatchEvent } from "@dlock/client";
import type { CheckResult } from "./checks.js";
import type { History } from "./history.js";

export class ChaosWatcher {
  readonly events: WatchEvent[] = [];
  /** Revisions from which the watcher had to list again (its history was compacted). */
  readonly relists: number[] = [];
  firstRevision = 0;
  private readonly stopController = new AbortController();
  private readonly locker: Locker;
  private running: Promise<void> | null = null;

  constructor(
    endpoints: string[],
    private readonly prefix: string,
  ) {
    this.locker = new Locker({
      endpoints,
      clusterId: "dlock-chaos",
      clientId: "watcher",
      unavailableTimeoutMs: 60_000,
    });
  }

  async start(): Promise<void> {
    const page = await this.locker.list(this.prefix, { limit: 1 });
    this.firstRevision = page.revision + 1;
    this.running = this.follow(this.firstRevision);
  }

  private async follow(from: number): Promise<void> {
    for (;;) {
      try {
        for await (const event of this.locker.watch(this.prefix, {
          prefix: true,
          fromRevision: from,
          signal: this.stopController.signal,
          pollMs: 1000,
        })) {
          this.events.push(event);
        }
        return;
      } catch (error) {
        if (!(error instanceof WatchRevisionCompactedError) || this.stopController.signal.aborted)
          return;
        const page = await this.locker.list(this.prefix, { limit: 1 });
        from = page.revision + 1;
        this.relists.push(from);
      }
    }
  }

  /** Waits (up to `timeoutMs`) until every acknowledged grant was seen, then stops. */
  async stop(history: History, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && missingGrants(history, this).length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.stopController.abort();
    await this.running;
    await this.locker.close();
  }
}

function missingGrants(history: History, watcher: ChaosWatcher): string[] {
  const floor = Math.max(watcher.firstRevision, ...watcher.relists);
  const seen = new Set(
    watcher.events.filter((e) => e.type === "granted").map((e) => `${e.key}@${e.token}`),
  );
  return history.ops
    .filter((op) => op.kind === "acquire" && op.outcome === "ok" && op.token !== null)
    .filter((op) => op.token! >= floor && op.key.startsWith("key-"))
    .map((op) => `${op.key}@${op.token}`)
    .filter((grant) => !seen.has(grant));
}

export function checkWatch(history: History, watcher: ChaosWatcher): CheckResult {
  const violations: string[] = [];
  const seen = new Set<string>();
  let last = 0;
  const holder = new Map<string, number>();
  for (const e of watcher.events) {
    const id = `${e.revision}:${e.type}:${e.key}:${e.value}:${e.token}`;
    if (seen.has(id)) violations.push(`event delivered twice: ${id}`);
    seen.add(id);
    if (e.revision < last) violations.push(`revision went back from ${last} to ${e.revision}`);
    last = e.revision;
    if (e.type === "granted") {
      const held = holder.get(e.key);
      if (held !== undefined && held !== 0 && !watcher.relists.length) {
        violations.push(`${e.key} granted to token ${e.token} while token ${held} held it`);
      }
      if (held !== undefined && held >= e.token) {
        violations.push(`${e.key}: token ${e.token} after ${held}`);
      }
      holder.set(e.key, e.token);
    } else if (e.type === "released" || e.type === "expired") {
      holder.set(e.key, 0);
    }
  }
  for (const grant of missingGrants(history, watcher)) {
    violations.push(`acknowledged grant ${grant} never seen by the watcher`);
  }
  return {
    name: `watch order and completeness (${watcher.relists.length} relist(s))`,
    violations,
    examined: watcher.events.length,
  };
}
