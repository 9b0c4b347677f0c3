/** A timer or repeating tick the scheduler handed out; only its own clear functions read it. */
export type ScheduledHandle = unknown;

/**
 * Every way RaftHost (and its group committer) waits for time to pass. Production uses
 * NODE_SCHEDULER (Node's timer globals); the simulator binds it to a node's virtual clock, so the
 * same host code runs there deterministically.
 */
export interface HostScheduler {
  /** Calls `callback` every `periodMs` until clearRepeating(handle). */
  setRepeating(callback: () => void, periodMs: number): ScheduledHandle;
  clearRepeating(handle: ScheduledHandle): void;
  /** Calls `callback` once after `delayMs` unless clearTimer(handle) came first. */
  setTimer(callback: () => void, delayMs: number): ScheduledHandle;
  clearTimer(handle: ScheduledHandle): void;
  /**
   * Runs `callback` in a later macrotask, after every promise continuation queued now: what one
   * macrotask did (many proposals, many messages) is then handled as one Ready.
   */
  defer(callback: () => void): void;
  /**
   * Inside deferred work: resolves once what that work sent is written to the sockets; null when
   * nothing is held (or, in the simulator, where sending takes no time). The group committer
   * starts a disk write after it, so building and handing off the batch does not delay the
   * appends a follower's round trip is waiting for.
   */
  afterTurnFlushes?(): Promise<void> | null;
}
