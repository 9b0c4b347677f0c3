// What a Locker tells an application about itself, without a logging library: typed events the
// application forwards to its own logger or metrics (`locker.on("lockLost", ...)`).
import type { DlockError, LockLostError } from "@dlock/protocol";

export interface LockerEvents {
  /** A connection to a node opened (handshake done). */
  connected: { endpoint: string; nodeId: string | null };
  /**
   * The node answering this locker's requests as leader is another one than before (the first
   * answer too: `previousLeaderId` is null then).
   */
  leaderChanged: { leaderId: string; previousLeaderId: string | null; endpoint: string };
  /** A refresh of a held lock failed; the lock stays held while its validity lasts. */
  refreshFailed: { key: string; fencingToken: number; error: DlockError };
  /** A held lock was lost (its `signal` aborts with the same error). */
  lockLost: { key: string; fencingToken: number; error: LockLostError };
}

export type LockerEventName = keyof LockerEvents;
export type LockerEventListener<E extends LockerEventName> = (event: LockerEvents[E]) => void;

/** The listeners of one locker. A throwing listener is ignored: it cannot break the client. */
export class LockerEventEmitter {
  private readonly listeners = new Map<LockerEventName, Set<(event: never) => void>>();

  on<E extends LockerEventName>(name: E, listener: LockerEventListener<E>): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<E extends LockerEventName>(name: E, event: LockerEvents[E]): void {
    const set = this.listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as LockerEventListener<E>)(event);
      } catch {
        // The application's listener failed; the client carries on.
      }
    }
  }
}
