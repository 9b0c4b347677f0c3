import { FakeClock } from "./fake-clock.js";
import { FakeCluster } from "./fake-cluster.js";
import { MemoryTransport } from "./memory-transport.js";
import { createLocker } from "../../src/internal.js";
import type { InternalLockerOptions } from "../../src/internal.js";

export const NODES = [
  { id: "n1", address: "n1:7001" },
  { id: "n2", address: "n2:7001" },
  { id: "n3", address: "n3:7001" },
];

/** A locker on virtual time talking to an in-memory fake cluster whose leader is `leaderId`. */
export function harness(options: Partial<InternalLockerOptions> = {}, leaderId = "n1") {
  const clock = new FakeClock();
  const cluster = new FakeCluster(clock, NODES, leaderId);
  const transport = new MemoryTransport(cluster, clock);
  const locker = createLocker({
    endpoints: NODES.map((n) => n.address),
    clock,
    transport,
    clientId: "client-a",
    random: () => 0, // Start at the first endpoint; backoff at half its ceiling.
    ...options,
  });
  return { clock, cluster, transport, locker };
}

export interface Tracked<T> {
  done: boolean;
  value?: T;
  error?: unknown;
}

/** Watches a promise so a test can advance virtual time until it settles. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const state: Tracked<T> = { done: false };
  promise.then(
    (value) => {
      state.done = true;
      state.value = value;
    },
    (error: unknown) => {
      state.done = true;
      state.error = error;
    },
  );
  return state;
}
