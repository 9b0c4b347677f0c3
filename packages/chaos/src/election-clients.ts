// Election clients: campaigners that wait to lead the run's election (Locker.campaign), lead for
// a random time while their leadership stays valid, and resign; and observers that follow its
// leaders (Locker.observe) for a while, then observe again (a new list, then a new watch).
import { electionKey } from "@dlock/client";
import type { Leadership } from "@dlock/client";
import type { ChaosClientContext, ChaosClientKind } from "./client-kind.js";
import { believe, errorCode, recordedRelease, sleep } from "./client-kind.js";

/** The election every election client of a run takes part in. */
export const ELECTION_NAME = "chaos";

export const campaigners: ChaosClientKind = { name: "campaign", run: runCampaigner };
export const observers: ChaosClientKind = { name: "observe", run: runObserver };

async function runCampaigner(context: ChaosClientContext): Promise<void> {
  const { client, locker, prng, history, ttlMs, signal } = context;
  const key = electionKey(ELECTION_NAME);
  let n = 0;
  while (!signal.aborted) {
    const value = `${client}-${++n}`;
    const op = history.begin("campaign", client, key, value);
    let leadership: Leadership;
    try {
      leadership = await locker.campaign(ELECTION_NAME, value, {
        ttl: ttlMs,
        wait: prng.int(ttlMs / 2, 3 * ttlMs),
        signal,
      });
    } catch (error) {
      history.end(op, "error", null, errorCode(error));
      await sleep(prng.int(5, 100), signal);
      continue;
    }
    history.end(op, "ok", leadership.fencingToken);
    const { end } = believe(history, leadership, { client, key, value });
    await sleep(prng.int(ttlMs / 4, 3 * ttlMs), signal);
    end("resigned");
    const token = leadership.fencingToken;
    await recordedRelease(history, { client, key, value, token }, () => leadership.resign());
    await sleep(prng.int(0, ttlMs), signal);
  }
}

async function runObserver(context: ChaosClientContext): Promise<void> {
  const { client, locker, prng, history, ttlMs, signal } = context;
  const key = electionKey(ELECTION_NAME);
  while (!signal.aborted) {
    const observation = history.beginObservation(client, key);
    const op = history.begin("observe", client, key, "");
    // Each observation lasts a while, so the list-then-watch start is exercised again and again.
    // (A timer and a listener rather than AbortSignal.any/timeout, whose signals the runtime holds
    // only weakly.)
    const until = new AbortController();
    const stop = (): void => until.abort();
    const timer = setTimeout(stop, prng.int(2 * ttlMs, 20 * ttlMs));
    signal.addEventListener("abort", stop, { once: true });
    try {
      for await (const leader of locker.observe(ELECTION_NAME, { signal: until.signal })) {
        const reported =
          leader === null ? null : { value: leader.value, token: leader.fencingToken };
        observation.reports.push({ atMs: history.now(), leader: reported });
      }
      history.end(op, "ok", null, `${observation.reports.length} reports`);
    } catch (error) {
      history.end(op, "error", null, errorCode(error));
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", stop);
    }
    await sleep(prng.int(10, 200), signal);
  }
}
