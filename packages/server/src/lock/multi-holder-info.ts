// How a client sees a multi-holder key: a semaphore's N, permits held and holders, or a
// reader-writer key's mode and holders (each with its mode). One builder for `get` (with each
// holder's lease left) and `list` (which reads the table alone: no lease, ttlRemainingMs null).
import type { RwInfo, SemaphoreInfo } from "@dlock/protocol";
import { isRwWriter } from "./multi-holder-state.js";
import type { MultiHolderState } from "./multi-holder-state.js";

/** `ttlsRemainingMs[i]` is holder i's lease left, or null when unknown. */
export function multiHolderInfo(
  s: Readonly<MultiHolderState>,
  ttlsRemainingMs: ReadonlyArray<number | null>,
): { semaphore: SemaphoreInfo } | { rw: RwInfo } {
  if (s.kind === "rw") {
    const holders = s.holders.map((h, i) => ({
      value: h.value,
      fencingToken: h.token,
      mode: isRwWriter(s, h) ? ("write" as const) : ("read" as const),
      ttlRemainingMs: ttlsRemainingMs[i] ?? null,
    }));
    const writing = holders.some((h) => h.mode === "write");
    return { rw: { mode: writing ? "write" : "read", holders } };
  }
  const holders = s.holders.map((h, i) => ({
    value: h.value,
    fencingToken: h.token,
    count: h.count,
    ttlRemainingMs: ttlsRemainingMs[i] ?? null,
  }));
  return { semaphore: { permits: s.permits, held: s.held, holders } };
}
