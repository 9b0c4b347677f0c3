// @dlock/client/internal: what the simulator, chaos runs and tests use to drive the real client
// with their own time, connections and randomness, and to plant deliberate bugs. Not for
// applications (the main entry, index.ts, is the public API); it may change in any release.
import { Locker } from "./locker.js";
import type { InternalLockerOptions } from "./resolve-locker-options.js";

/** A Locker with injected clock, transport, random source or planted bugs. */
export function createLocker(options: InternalLockerOptions): Locker {
  return new Locker(options);
}

export { systemClock } from "./clock.js";
export type { Clock, TimerHandle } from "./clock.js";
export { resolveLockerOptions } from "./resolve-locker-options.js";
export type {
  ClientPlantedBugs,
  InternalLockerOptions,
  ResolvedLockerOptions,
} from "./resolve-locker-options.js";
export { TcpTransport } from "./tcp-transport.js";
export type { TcpTransportOptions } from "./tcp-transport.js";
export type { Transport, TransportConnection, TransportConnectionEvents } from "./transport.js";
export { validUntilMs } from "./validity.js";
export type { ValidityInput } from "./validity.js";
