// A held lock: its validity timer, automatic refresh, loss reporting and release.
import type { Lock, LockState, ReleaseOutcome } from "./types.js";
import type { DlockError } from "@dlock/protocol";
import {
  ClusterUnavailableError,
  DlockError as DlockErrorClass,
  InternalError,
  LockLostError,
  NotOwnerError,
} from "@dlock/protocol";
import type { Clock, TimerHandle } from "./clock.js";
import type { LockerEventEmitter } from "./locker-events.js";
import type { ResolvedLockerOptions } from "./resolve-locker-options.js";
import type { Router } from "./router.js";
import { validUntilMs } from "./validity.js";

export interface LockHandleParameters {
  key: string;
  value: string;
  fencingToken: number;
  ttlMs: number;
  refreshIntervalMs: number;
  /** Clock time until which the grant is valid (from validUntilMs()). */
  validUntilMs: number;
  /** Clock time the grant's request was sent; auto-refresh is scheduled from it. */
  sentAtMs: number;
  router: Router;
  options: ResolvedLockerOptions;
  /** Called once when the lock stops being held (released or lost). */
  onSettled: (lock: LockHandle) => void;
  /** The locker's event hook: refresh failures and the loss are reported there too. */
  events: LockerEventEmitter;
}

export class LockHandle implements Lock {
  readonly key: string;
  readonly value: string;
  readonly fencingToken: number;
  readonly ttlMs: number;
  private validUntil: number;
  private stateValue: LockState = "held";
  private readonly controller = new AbortController();
  private readonly lostCallbacks = new Set<(error: LockLostError) => void>();
  private lostError: LockLostError | null = null;
  private lostTimer: TimerHandle | null = null;
  private refreshTimer: TimerHandle | null = null;
  private refreshInFlight: Promise<void> | null = null;
  private releaseInFlight: Promise<ReleaseOutcome> | null = null;
  private releaseOutcome: ReleaseOutcome | null = null;
  private settled = false;
  private readonly clock: Clock;

  constructor(private readonly parameters: LockHandleParameters) {
    this.key = parameters.key;
    this.value = parameters.value;
    this.fencingToken = parameters.fencingToken;
    this.ttlMs = parameters.ttlMs;
    this.validUntil = parameters.validUntilMs;
    this.clock = parameters.options.clock;
    this.armLostTimer();
    this.scheduleRefresh(parameters.sentAtMs + parameters.refreshIntervalMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get state(): LockState {
    return this.stateValue;
  }

  get validUntilMs(): number {
    return this.validUntil;
  }

  isValid(): boolean {
    if (this.stateValue !== "held") return false;
    if (this.clock.now() >= this.validUntil) {
      this.markLost("its validity ran out before a refresh succeeded");
      return false;
    }
    return true;
  }

  onLost(callback: (error: LockLostError) => void): () => void {
    if (this.lostError !== null) {
      const error = this.lostError;
      queueMicrotask(() => callback(error));
      return () => {};
    }
    this.lostCallbacks.add(callback);
    return () => this.lostCallbacks.delete(callback);
  }

  refresh(): Promise<void> {
    if (this.stateValue === "lost") return Promise.reject(this.lostError!);
    if (this.stateValue !== "held") {
      return Promise.reject(new NotOwnerError(`lock "${this.key}" was released`));
    }
    this.refreshInFlight ??= this.doRefresh().finally(() => {
      this.refreshInFlight = null;
    });
    return this.refreshInFlight;
  }

  release(): Promise<ReleaseOutcome> {
    if (this.releaseOutcome !== null) return Promise.resolve(this.releaseOutcome);
    this.releaseInFlight ??= this.doRelease().finally(() => {
      this.releaseInFlight = null;
    });
    return this.releaseInFlight;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /** Stops vouching for the lock without telling the cluster (the locker is closing). */
  abandon(reason: string): void {
    this.markLost(reason);
  }

  private async doRefresh(): Promise<void> {
    const { router, options } = this.parameters;
    try {
      const { result, sentAtMs } = await router.call<"refresh">(
        {
          type: "refresh",
          key: this.key,
          value: this.value,
          token: this.fencingToken,
          ttlMs: this.ttlMs,
        },
        // Past the validity there is nothing left to save: the lock is lost then.
        { deadlineMs: this.validUntil },
      );
      if (this.stateValue !== "held") {
        if (this.stateValue === "lost") throw this.lostError!;
        return;
      }
      const now = this.clock.now();
      if (now >= this.validUntil) {
        // The answer came after our validity had ended: there was a moment in which we did not
        // vouch for the lock, and a lost lock never comes back.
        throw this.markLost("its validity ran out before a refresh succeeded");
      }
      const extended = validUntilMs({
        sentAtMs,
        repliedAtMs: now,
        ttlMs: result.ttlMs,
        waitedMs: 0,
        driftFactor: options.driftFactor,
        marginMs: options.marginMs,
        plantedBugs: options.plantedBugs,
      });
      this.validUntil = Math.max(this.validUntil, extended);
      this.armLostTimer();
      this.scheduleRefresh(sentAtMs + this.parameters.refreshIntervalMs);
    } catch (error) {
      if (error === this.lostError) throw error;
      this.parameters.events.emit("refreshFailed", {
        key: this.key,
        fencingToken: this.fencingToken,
        error: asDlockError(error),
      });
      if (error instanceof NotOwnerError || error instanceof LockLostError) {
        throw this.markLost("the cluster no longer holds this grant", error);
      }
      if (error instanceof ClusterUnavailableError || this.clock.now() >= this.validUntil) {
        throw this.markLost("no refresh succeeded within its validity", error);
      }
      // Any other failure (e.g. the server refused the ttl): try again while validity lasts.
      const retryAtMs =
        this.clock.now() +
        Math.max(
          options.reconnectDelayMsMin,
          Math.min(this.parameters.refreshIntervalMs, (this.validUntil - this.clock.now()) / 2),
        );
      this.scheduleRefresh(retryAtMs);
      throw error;
    }
  }

  private async doRelease(): Promise<ReleaseOutcome> {
    const { router, options } = this.parameters;
    const wasLost = this.stateValue === "lost";
    if (this.stateValue === "held") this.stateValue = "releasing";
    // No more refreshes: if this release fails, the lease runs out on its own (the validity
    // timer still reports that), rather than being kept alive by a holder that wanted out.
    this.clearRefreshTimer();
    let released: boolean;
    try {
      // Token-scoped: even a late or repeated release never frees a later grant.
      // A lost lock's release is a courtesy: one request timeout, not the full search for a leader.
      const budgetMs = wasLost ? options.requestTimeoutMs : options.unavailableTimeoutMs;
      const { result } = await router.call<"release">(
        { type: "release", key: this.key, value: this.value, token: this.fencingToken },
        { deadlineMs: this.clock.now() + budgetMs },
      );
      released = result.released;
    } catch (error) {
      // A lost lock's release is only a courtesy to the next holder: report, do not throw.
      if (this.stateValue !== "lost") throw error;
      released = false;
    }
    if (!released && this.stateValue === "releasing" && this.clock.now() < this.validUntil) {
      // Not held, yet our validity (which ends before the cluster's lease can) has not run out:
      // no expiry ended the grant, a release naming this value and token did. That is this call's
      // own earlier attempt, applied but unanswered (a broken connection) before the retry.
      released = true;
    }
    if (!released && this.stateValue !== "lost") {
      // The cluster did not hold our grant any more: it was lost before we released it.
      this.markLost("the cluster no longer held it at release");
    }
    const lost = wasLost || this.stateValue === "lost";
    this.clearTimers();
    if (this.stateValue !== "lost") this.stateValue = "released";
    this.releaseOutcome = { released, lost };
    this.settle();
    return this.releaseOutcome;
  }

  private markLost(reason: string, cause?: unknown): LockLostError {
    if (this.lostError !== null) return this.lostError;
    const error = new LockLostError(this.key, `lock "${this.key}" lost: ${reason}`, { cause });
    this.lostError = error;
    this.stateValue = "lost";
    this.clearTimers();
    this.controller.abort(error);
    for (const callback of this.lostCallbacks) {
      try {
        callback(error);
      } catch {
        // A failing listener must not stop the others from hearing about the loss.
      }
    }
    this.lostCallbacks.clear();
    this.parameters.events.emit("lockLost", {
      key: this.key,
      fencingToken: this.fencingToken,
      error,
    });
    this.settle();
    return error;
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.parameters.onSettled(this);
  }

  private armLostTimer(): void {
    if (this.lostTimer !== null) this.clock.clearTimeout(this.lostTimer);
    this.lostTimer = this.clock.setTimeout(() => {
      this.lostTimer = null;
      // The timer may run early on some clocks: re-arm until the validity has really passed.
      if (this.clock.now() < this.validUntil) this.armLostTimer();
      else if (this.stateValue === "held" || this.stateValue === "releasing") {
        this.markLost("no refresh succeeded within its validity");
      }
    }, this.validUntil - this.clock.now());
  }

  private scheduleRefresh(atMs: number): void {
    this.clearRefreshTimer();
    if (this.parameters.refreshIntervalMs === 0 || this.stateValue !== "held") return;
    this.refreshTimer = this.clock.setTimeout(() => {
      this.refreshTimer = null;
      this.refresh().catch(() => {
        // Reported through the lock's state, signal and onLost; nobody awaits auto-refresh.
      });
    }, atMs - this.clock.now());
  }

  private clearRefreshTimer(): void {
    if (this.refreshTimer !== null) this.clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  private clearTimers(): void {
    this.clearRefreshTimer();
    if (this.lostTimer !== null) this.clock.clearTimeout(this.lostTimer);
    this.lostTimer = null;
  }
}

function asDlockError(error: unknown): DlockError {
  return error instanceof DlockErrorClass
    ? error
    : new InternalError(String(error), { cause: error });
}
