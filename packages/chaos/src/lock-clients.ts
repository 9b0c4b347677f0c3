// Lock clients: each takes a random key, does fenced writes to the shared resource while it
// believes it holds the lock, releases it, and now and then reads a key. Now and then one is a
// "zombie" that stalls past its TTL and writes anyway: the resource must refuse it.
import type { Lock } from "@dlock/client";
import type { Belief, ResourceWrite } from "@dlock/testkit";
import type { ChaosClientContext, ChaosClientKind } from "./client-kind.js";
import { believe, errorCode, recordedRelease, sleep } from "./client-kind.js";

export const lockClients: ChaosClientKind = { name: "lock", run: runLockClient };

async function runLockClient(context: ChaosClientContext): Promise<void> {
  const { client, locker, prng, history, ttlMs, signal } = context;
  let n = 0;
  while (!signal.aborted) {
    const key = `key-${prng.int(1, context.keys)}`;
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
        history.end(op, "error", null, errorCode(error));
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
      const code = errorCode(error);
      history.end(op, code === "LOCK_BUSY" ? "busy" : "error", null, code);
      await sleep(prng.int(5, 50));
      continue;
    }
    history.end(op, "ok", lock.fencingToken);
    const { belief, end } = believe(history, lock, { client, key, value });
    if (zombie) {
      write(context, belief, lock.isValid());
      await sleep(prng.between(1.5, 2.5) * ttlMs);
      write(context, belief, lock.isValid());
    }
    const writes = zombie ? 0 : prng.int(1, 3);
    for (let w = 0; w < writes; w++) {
      await sleep(prng.int(2, 40));
      const valid = lock.isValid();
      if (!valid) break;
      write(context, belief, valid);
    }
    end("released");
    await recordedRelease(history, { client, key, value, token: lock.fencingToken }, () =>
      lock.release(),
    );
  }
}

/** A write to the fenced resource by the holder of `belief` (`believed`: it checked first). */
function write(context: ChaosClientContext, belief: Belief, believed: boolean): void {
  const { history, resource } = context;
  const write: ResourceWrite = {
    key: belief.key,
    token: belief.token,
    client: belief.client,
    beliefId: belief.id,
    believed,
    issueMs: history.now(),
    arriveMs: null,
    accepted: null,
  };
  history.writes.push(write);
  resource.send(write);
}
