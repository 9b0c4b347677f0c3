// The clients of a chaos run: each takes a random key, does fenced writes to the shared resource
// while it believes it holds the lock, releases it, and now and then reads a key. Every step is
// recorded in the History.
import type { Locker } from "@dlock/client";
import { TcpTransport, createLocker } from "@dlock/client/internal";
import type { Lock } from "@dlock/client";
import type { Belief, FencedResource, Prng, ResourceWrite } from "@dlock/testkit";
import type { History } from "./history.js";
import { RecordingTransport } from "./wire-recorder.js";

export interface WorkloadOptions {
  endpoints: string[];
  clients: number;
  keys: number;
  ttlMs: number;
  prng: Prng;
  history: History;
  resource: FencedResource;
}

export class Workload {
  private stopped = false;
  private readonly loops: Array<Promise<void>> = [];
  private readonly lockers: Locker[] = [];

  constructor(private readonly options: WorkloadOptions) {}

  start(): void {
    const { history } = this.options;
    for (let i = 0; i < this.options.clients; i++) {
      const client = `c${i + 1}`;
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
      this.loops.push(this.loop(client, locker, this.options.prng.fork()));
    }
  }

  /** Stops taking new locks; resolves when every client finished its current operation. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    await Promise.all(this.lockers.map((l) => l.close()));
  }

  /** A write to the fenced resource by the holder of `belief` (`believed`: it checked first). */
  private write(belief: Belief, believed: boolean): void {
    const { history, resource } = this.options;
    const now = history.now();
    const write: ResourceWrite = {
      key: belief.key,
      token: belief.token,
      client: belief.client,
      beliefId: belief.id,
      believed,
      issueMs: now,
      arriveMs: null,
      accepted: null,
    };
    history.writes.push(write);
    resource.send(write);
  }

  private async loop(client: string, locker: Locker, prng: Prng): Promise<void> {
    const { history, ttlMs } = this.options;
    let n = 0;
    while (!this.stopped) {
      const key = `key-${prng.int(1, this.options.keys)}`;
      if (prng.chance(0.1)) {
        const op = history.begin("get", client, key, "");
        try {
          const got = await locker.get(key);
          history.end(
            op,
            "ok",
            got.fencingToken,
            got.held ? `${got.value}@${got.fencingToken}` : "free",
          );
        } catch (error) {
          history.end(op, "error", null, code(error));
        }
        continue;
      }
      const value = `${client}-${++n}`;
      const op = history.begin("acquire", client, key, value);
      // Now and then a "zombie": it stops refreshing, stalls past its TTL (a long GC pause) and
      // then writes anyway; the resource must refuse it once a later holder has written.
      const zombie = prng.chance(0.04);
      let lock: Lock;
      try {
        lock = await locker.lock(key, value, {
          ttl: ttlMs,
          retryLimit: 2,
          retryInterval: prng.int(20, 80),
          ...(zombie ? { refreshInterval: 0 } : {}),
        });
      } catch (error) {
        history.end(op, code(error) === "LOCK_BUSY" ? "busy" : "error", null, code(error));
        await sleep(prng.int(5, 50));
        continue;
      }
      history.end(op, "ok", lock.fencingToken);
      const belief = history.beginBelief(client, key, value, lock.fencingToken);
      lock.onLost(() => {
        history.endBelief(belief, "lost", Math.min(history.now(), lock.validUntilMs));
      });
      if (zombie) {
        this.write(belief, lock.isValid());
        await sleep(prng.between(1.5, 2.5) * ttlMs);
        this.write(belief, lock.isValid());
      }
      const writes = zombie ? 0 : prng.int(1, 3);
      for (let w = 0; w < writes; w++) {
        await sleep(prng.int(2, 40));
        const valid = lock.isValid();
        if (!valid) break;
        this.write(belief, valid);
      }
      history.endBelief(belief, "released", Math.min(history.now(), lock.validUntilMs));
      const release = history.begin("release", client, key, value);
      try {
        const outcome = await lock.release();
        history.end(release, "ok", lock.fencingToken, outcome.released ? "released" : "notHeld");
      } catch (error) {
        history.end(release, "error", lock.fencingToken, code(error));
      }
    }
  }
}

function code(error: unknown): string {
  return typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
