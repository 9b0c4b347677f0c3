#!/usr/bin/env node
// One candidate of the election fail-over bench, in a process of its own so that the bench can
// SIGKILL it: `node campaigner.js ENDPOINTS NAME VALUE TTL`. It campaigns, prints one JSON line
// {"leading":<fencing token>,"atMs":<epoch ms>} when campaign() returns (the bench compares that
// time with the kill's, on the same machine clock), then leads until it is killed; SIGTERM makes
// it resign first (the bench's planned hand-off).
import { Locker } from "@dlock/client";
import type { Leadership } from "@dlock/client";

async function main(): Promise<void> {
  const [endpoints, name, value, ttl] = process.argv.slice(2);
  if (endpoints === undefined || name === undefined || value === undefined || ttl === undefined) {
    throw new Error("usage: campaigner.js ENDPOINTS NAME VALUE TTL");
  }
  const locker = new Locker({ endpoints: endpoints.split(",") });
  let leadership: Leadership | null = null;
  process.once("SIGTERM", () => {
    void (leadership?.resign() ?? Promise.resolve())
      .then(() => locker.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`campaigner ${value}: resign failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
  });
  const led = await locker.campaign(name, value, { ttl });
  leadership = led;
  const atMs = performance.timeOrigin + performance.now();
  process.stdout.write(`${JSON.stringify({ leading: led.fencingToken, atMs })}\n`);
  led.onLost((error) => {
    process.stderr.write(`campaigner ${value}: leadership lost: ${error.message}\n`);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`campaigner: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
