// What the admin HTTP server needs from the node. The host implements it; tests use fakes.
// The /status shapes are the protocol's (the CLI reads them too); re-exported for the server's own.
import type { NodeStatusSnapshot } from "@dlock/protocol";

export type { NodeMemberStatus, NodeStatusSnapshot, RaftLogStatus } from "@dlock/protocol";

export interface AdminStatusProvider {
  /** Cheap and synchronous: called on every /status, /readyz and /metrics request. */
  status(): NodeStatusSnapshot;
  /**
   * Resolves when storage accepts a write (for /healthz), rejects with the reason otherwise.
   * The admin server bounds the wait with its own timeout.
   */
  checkStorageWritable(): Promise<void>;
}
