import { describe, expect, it } from "vitest";
import type { WatchEvent } from "@dlock/client";
import { History } from "../src/history.js";
import { checkWatch } from "../src/watch-check.js";
import type { ChaosWatcher } from "../src/watch-check.js";

const ev = (revision: number, type: WatchEvent["type"], token: number): WatchEvent => ({
  revision,
  type,
  key: "key-1",
  value: "v",
  token,
});

function watcherOf(events: WatchEvent[]): ChaosWatcher {
  return { events, relists: [], firstRevision: 1 } as unknown as ChaosWatcher;
}

function historyWithGrant(token: number): History {
  const history = new History();
  const op = history.begin("acquire", "c1", "key-1", "v");
  history.end(op, "ok", token);
  return history;
}

describe("checkWatch", () => {
  it("passes the committed order with every acknowledged grant", () => {
    const events = [ev(2, "granted", 2), ev(5, "released", 2), ev(5, "granted", 5)];
    expect(checkWatch(historyWithGrant(5), watcherOf(events)).violations).toEqual([]);
  });

  it("finds a duplicate, a regression, an overlap and a missed grant", () => {
    const events = [
      ev(2, "granted", 2),
      ev(2, "granted", 2),
      ev(4, "granted", 4),
      ev(3, "released", 2),
    ];
    const violations = checkWatch(historyWithGrant(7), watcherOf(events)).violations;
    expect(violations).toEqual([
      "event delivered twice: 2:granted:key-1:v:2",
      "key-1 granted to token 2 while token 2 held it",
      "key-1: token 2 after 2",
      "key-1 granted to token 4 while token 2 held it",
      "revision went back from 4 to 3",
      "acknowledged grant key-1@7 never seen by the watcher",
    ]);
  });
});
