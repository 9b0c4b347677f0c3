import { describe, expect, it } from "vitest";
import { PermissionDeniedError } from "@dlock/protocol";
import type { ClientRequest, ListResult, WatchResult } from "@dlock/protocol";
import { SILENT_LOGGER } from "@dlock/protocol";
import { allowsPrefix } from "../../src/auth/grants.js";
import type { Principal } from "../../src/auth/grants.js";
import { AuthorizingHandler } from "../../src/auth/authorizing-handler.js";
import { bindValue } from "../../src/auth/holder-binding.js";

const reader: Principal = { name: "r", grants: [{ role: "read", scope: "jobs/*" }] };
const exact: Principal = { name: "e", grants: [{ role: "lock", scope: "jobs/a" }] };

describe("watch and list authorization", () => {
  it("a prefix needs a prefix* scope covering all of it", () => {
    expect(allowsPrefix(reader, "watch", "jobs/")).toBe(true);
    expect(allowsPrefix(reader, "list", "jobs/a")).toBe(true);
    expect(allowsPrefix(reader, "list", "jobs")).toBe(false);
    expect(allowsPrefix(reader, "list", "")).toBe(false);
    expect(allowsPrefix(exact, "watch", "jobs/a")).toBe(false);
    expect(allowsPrefix(reader, "acquire", "jobs/")).toBe(false);
  });

  it("refuses what is out of scope and shows only the caller's own values", async () => {
    const inner = {
      handle: async (request: ClientRequest): Promise<WatchResult | ListResult> =>
        request.type === "watch"
          ? {
              events: [
                {
                  revision: 2,
                  type: "granted",
                  key: "jobs/a",
                  value: bindValue("r", "mine"),
                  token: 2,
                },
                {
                  revision: 3,
                  type: "queued",
                  key: "jobs/a",
                  value: bindValue("x", "theirs"),
                  token: 0,
                },
              ],
              revision: 3,
            }
          : {
              locks: [
                {
                  key: "jobs/a",
                  value: bindValue("x", "theirs"),
                  fencingToken: 2,
                  waiters: [bindValue("r", "mine")],
                  inLockDelay: false,
                },
                {
                  key: "jobs/pool",
                  value: null,
                  fencingToken: 4,
                  waiters: [],
                  inLockDelay: false,
                  semaphore: {
                    permits: 2,
                    held: 2,
                    holders: [
                      {
                        value: bindValue("x", "theirs"),
                        fencingToken: 3,
                        count: 1,
                        ttlRemainingMs: null,
                      },
                      {
                        value: bindValue("r", "mine"),
                        fencingToken: 4,
                        count: 1,
                        ttlRemainingMs: null,
                      },
                    ],
                  },
                },
                {
                  key: "jobs/rw",
                  value: bindValue("x", "writer"),
                  fencingToken: 5,
                  waiters: [],
                  inLockDelay: false,
                  rw: {
                    mode: "write",
                    holders: [
                      {
                        value: bindValue("x", "writer"),
                        fencingToken: 5,
                        mode: "write",
                        ttlRemainingMs: null,
                      },
                    ],
                  },
                },
              ],
              revision: 3,
              more: false,
            },
    };
    const handler = new AuthorizingHandler({
      inner,
      table: { limits: { valueBytesMax: 256 } },
      logger: SILENT_LOGGER,
    });
    const context = { connectionId: 1, clientId: "c", principal: reader, receivedAtMs: 0 };
    await expect(
      handler.handle({ type: "list", id: 1, prefix: "" }, context),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(
      handler.handle({ type: "watch", id: 1, key: "other", prefix: true }, context),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    const watched = (await handler.handle(
      { type: "watch", id: 1, key: "jobs/", prefix: true },
      context,
    )) as WatchResult;
    expect(watched.events.map((e) => e.value)).toEqual(["mine", null]);
    const listed = (await handler.handle(
      { type: "list", id: 1, prefix: "jobs/" },
      context,
    )) as ListResult;
    expect(listed.locks[0]).toMatchObject({ value: null, waiters: ["mine"] });
    // A semaphore's and a reader-writer key's holders are hidden as `get` hides them.
    expect(listed.locks[1]?.semaphore?.holders.map((h) => h.value)).toEqual([null, "mine"]);
    expect(listed.locks[2]?.value).toBeNull();
    expect(listed.locks[2]?.rw?.holders.map((h) => h.value)).toEqual([null]);
  });
});
