// The clients of a chaos run: a mix of client kinds (locks, semaphore permits, election
// campaigners and observers), each kind one entry with its share of the clients. Every client
// has its own Locker over recorded TCP connections; every step is recorded in the History.
import type { Locker } from "@dlock/client";
import { TcpTransport, createLocker } from "@dlock/client/internal";
import type { FencedResource, Prng } from "@dlock/testkit";
import type { ChaosClientKind } from "./client-kind.js";
import { campaigners, observers } from "./election-clients.js";
import type { History } from "./history.js";
import { lockClients } from "./lock-clients.js";
import { semaphoreClients } from "./semaphore-clients.js";
import { rwClients } from "./rw-clients.js";
import { ChaosInputError } from "./recheck.js";
import { RecordingTransport } from "./wire-recorder.js";

/** One kind of client and its share (a weight) of the run's clients. */
export interface ClientMixEntry {
  kind: ChaosClientKind;
  share: number;
}

/**
 * Every primitive, locks first: of the default 14 clients, 5 lock clients, 2 semaphore clients,
 * 2 reader-writer clients, 3 campaigners and 2 observers (see clientsPerKind). A new primitive is
 * one more entry.
 */
export const DEFAULT_CLIENT_MIX: readonly ClientMixEntry[] = [
  { kind: lockClients, share: 6 },
  { kind: semaphoreClients, share: 2 },
  { kind: rwClients, share: 2 },
  { kind: campaigners, share: 3 },
  { kind: observers, share: 1 },
];

/** Clients of a chaos run unless told otherwise: enough for two of most kinds in the mix. */
export const DEFAULT_CHAOS_CLIENTS = 14;

export interface WorkloadOptions {
  endpoints: string[];
  clients: number;
  keys: number;
  ttlMs: number;
  prng: Prng;
  history: History;
  resource: FencedResource;
  /** Default DEFAULT_CLIENT_MIX. */
  mix?: readonly ClientMixEntry[];
}

/**
 * How many of `clients` each entry of `mix` gets: at least one each, the rest by share (largest
 * remainder first, ties to the earlier entry). ChaosInputError when there are fewer clients than
 * kinds.
 */
export function clientsPerKind(mix: readonly ClientMixEntry[], clients: number): number[] {
  if (!Number.isInteger(clients) || clients < mix.length) {
    throw new ChaosInputError(
      `--clients must be at least ${mix.length} (one per client kind: ` +
        `${mix.map((entry) => entry.kind.name).join(", ")}), got ${clients}`,
    );
  }
  const total = mix.reduce((sum, entry) => sum + entry.share, 0);
  const spare = clients - mix.length;
  const exact = mix.map((entry) => (spare * entry.share) / total);
  const counts = exact.map((share) => 1 + Math.floor(share));
  const left = clients - counts.reduce((sum, count) => sum + count, 0);
  const byRemainder = exact
    .map((share, i) => ({ i, remainder: share - Math.floor(share) }))
    .sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  // The `left` (0 ≤ left < mix.length) largest remainders get one more client each.
  const bumped = new Set(byRemainder.slice(0, left).map(({ i }) => i));
  return counts.map((count, i) => (bumped.has(i) ? count + 1 : count));
}

export class Workload {
  private readonly stopController = new AbortController();
  private readonly loops: Array<Promise<void>> = [];
  private readonly lockers: Locker[] = [];
  /** How many clients of each kind run, by kind name. */
  readonly clientsByKind: Record<string, number> = {};

  constructor(private readonly options: WorkloadOptions) {}

  start(): void {
    const { history } = this.options;
    const mix = this.options.mix ?? DEFAULT_CLIENT_MIX;
    const counts = clientsPerKind(mix, this.options.clients);
    for (const [i, { kind }] of mix.entries()) {
      const count = counts[i]!; // clientsPerKind: one count per mix entry
      this.clientsByKind[kind.name] = count;
      for (let n = 1; n <= count; n++) {
        const client = `${kind.name}${n}`;
        const locker = createLocker({
          endpoints: this.options.endpoints,
          clusterId: "dlock-chaos",
          clientId: client,
          requestTimeoutMs: 1_000,
          unavailableTimeoutMs: 10_000,
          transport: new RecordingTransport(new TcpTransport(), client, history.wire, () =>
            history.now(),
          ),
        });
        this.lockers.push(locker);
        const run = kind.run({
          client,
          locker,
          prng: this.options.prng.fork(),
          history,
          resource: this.options.resource,
          keys: this.options.keys,
          ttlMs: this.options.ttlMs,
          signal: this.stopController.signal,
        });
        this.loops.push(run);
      }
    }
  }

  /** Stops taking new grants; resolves when every client finished its current operation. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await Promise.all(this.loops);
    await Promise.all(this.lockers.map((l) => l.close()));
  }
}
