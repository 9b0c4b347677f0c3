import type { ClientRequest, ClientResponse } from "@dlock/protocol";
import type { LockResult } from "@dlock/server/lock";
import type { CommittedGrant } from "../../../src/checkers/lock/committed-grants.js";
import type {
  Belief,
  CommittedLockEntry,
  KeyedRequest,
  ResourceWrite,
  WireOp,
} from "../../../src/lock/lock-history.js";

/** A grant of key "k" to `value` with `token`, first applied at `atMs`. */
export function grant(value: string, token: number, atMs: number): CommittedGrant {
  return { key: "k", value, token, index: token, appliedMs: atMs, toWaiter: false };
}

export function grantsOf(...grants: CommittedGrant[]): Map<string, CommittedGrant[]> {
  return new Map([["k", grants]]);
}

let beliefId = 0;

/** A belief in `token` of key "k" from `startMs`, valid until `validUntilMs` unless extended. */
export function belief(
  client: string,
  token: number,
  startMs: number,
  validUntilMs: number,
  options: { endMs?: number; extensions?: [number, number][] } = {},
): Belief {
  return {
    id: beliefId++,
    client,
    key: "k",
    value: `${client}.1.1`,
    token,
    startMs,
    extensions: [
      { atMs: startMs, validUntilMs },
      ...(options.extensions ?? []).map(([atMs, until]) => ({ atMs, validUntilMs: until })),
    ],
    endMs: options.endMs ?? null,
    endReason: options.endMs === undefined ? null : "released",
  };
}

export function write(
  client: string,
  token: number,
  issueMs: number,
  arriveMs: number,
  accepted: boolean,
  believed = true,
): ResourceWrite {
  return { key: "k", token, client, beliefId: 0, believed, issueMs, arriveMs, accepted };
}

let opId = 0;

/** A request on key "k" and its answer (null: never answered). */
export function wireOp(
  client: string,
  request: Omit<KeyedRequest, "id" | "key">,
  invokeMs: number,
  answer: { returnMs: number; result?: unknown; error?: string; notApplied?: boolean } | null,
): WireOp {
  const full = { ...request, id: 1, key: "k" } as KeyedRequest;
  let response: ClientResponse | null = null;
  if (answer !== null) {
    response =
      answer.error !== undefined
        ? {
            type: "error",
            id: 1,
            error: {
              code: answer.error as "INTERNAL",
              message: "",
              ...(answer.notApplied === undefined ? {} : { notApplied: answer.notApplied }),
            },
          }
        : { type: "ok", id: 1, result: answer.result };
  }
  return {
    id: opId++,
    client,
    key: "k",
    request: full as ClientRequest as KeyedRequest,
    invokeMs,
    returnMs: answer?.returnMs ?? null,
    response,
  };
}

/** A committed entry of key "k" at `index` with `result`, first applied at `appliedMs`. */
export function committed(
  index: number,
  result: LockResult,
  appliedMs: number,
): CommittedLockEntry {
  return { index, term: 1, chain: 1000 + index, command: null, result, appliedMs };
}
