// A disk fault for the repository's own tests (a full or broken disk on one node of a real
// cluster), reachable only through @dlock/server/internal: a symbol-keyed field the public
// DlockServerDependencies does not have.
import type { DlockServerDependencies } from "./dlock-server.js";

/** Called before every storage write; an error it returns fails that write. */
export type StorageWriteFault = () => Error | undefined;

const storageWriteFaultKey = Symbol("dlock.server.storageWriteFault");

/** A copy of the dependencies whose storage writes fail when `fault` returns an error. */
export function withStorageWriteFault<T extends DlockServerDependencies>(
  dependencies: T,
  fault: StorageWriteFault,
): T {
  // Typed as T: the field is hidden on purpose, and the public type has only optional fields.
  return { ...dependencies, [storageWriteFaultKey]: fault } as T;
}

/** The fault the dependencies carry (none for public dependencies). */
export function storageWriteFaultOf(
  dependencies: DlockServerDependencies,
): StorageWriteFault | undefined {
  return (dependencies as { [storageWriteFaultKey]?: StorageWriteFault })[storageWriteFaultKey];
}
