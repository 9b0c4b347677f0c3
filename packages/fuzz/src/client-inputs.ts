// Client-port inputs: hellos and requests built from the protocol types, then mutated. Keys live
// under "fuzz/" (the seeded locks the checks watch are elsewhere, held under random values the
// fuzzer never produces). Without an auth file the server obeys any client's membership change,
// so there they name ids that are not members; against an auth file (authClientInputArb) they name
// real members and must all be refused.
import fc from "fast-check";
import { PROTOCOL_VERSION } from "@dlock/protocol";
import type { FramedInput, Rendered } from "./wire-input.js";
import { framedInputArb, renderFramed } from "./wire-input.js";

export type ClientMessage = Record<string, unknown>;

export interface ClientRenderContext {
  clusterId: string;
  /** A `lock`-role token for a server with an auth file: the valid hello carries it. */
  authToken?: string;
}

// A bounded key space: valid acquires with long TTLs must not grow the lock table without end.
const keyArb = fc.oneof(
  fc.nat({ max: 31 }).map((n) => `fuzz/${n}`),
  fc.constantFrom("fuzz/\u00e9", "fuzz/\u0000", "fuzz/\u{1f512}", "fuzz/" + "k".repeat(507)),
);
const valueArb = fc.oneof(
  fc.constantFrom("a", "b", "fuzzer"),
  fc.string({ minLength: 1, maxLength: 20 }),
);
const idArb = fc.oneof(fc.integer({ min: 1, max: 50 }), fc.nat());
const ttlArb = fc.oneof(
  fc.constantFrom(5_000, 10_000, 60_000),
  fc.integer({ min: 0, max: 2_147_483_647 }),
);
const tokenArb = fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.constant(Number.MAX_SAFE_INTEGER));
const requestIdArb = fc.string({ minLength: 1, maxLength: 30 });
const ghostArb = fc.constantFrom("ghost", "n0", "n10", "intruder");

export const clientMessageArb: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant("acquire"),
      id: idArb,
      key: keyArb,
      value: valueArb,
      ttlMs: ttlArb,
      requestId: requestIdArb,
      waitMs: fc.option(fc.constantFrom(0, 1, 100), { nil: undefined }),
    },
    { requiredKeys: ["type", "id", "key", "value", "ttlMs", "requestId"] },
  ),
  fc.record({
    type: fc.constant("refresh"),
    id: idArb,
    key: keyArb,
    value: valueArb,
    token: tokenArb,
    ttlMs: ttlArb,
  }),
  fc.record(
    { type: fc.constant("release"), id: idArb, key: keyArb, value: valueArb, token: tokenArb },
    { requiredKeys: ["type", "id", "key", "value"] },
  ),
  fc.record({
    type: fc.constant("cancel"),
    id: idArb,
    key: keyArb,
    value: valueArb,
    requestId: requestIdArb,
  }),
  fc.record({ type: fc.constant("get"), id: idArb, key: keyArb }),
  fc.record({ type: fc.constant("status"), id: idArb }),
  fc.record({ type: fc.constant("members"), id: idArb }),
  fc.record({ type: fc.constant("promoteMember"), id: idArb, nodeId: ghostArb }),
  fc.record({ type: fc.constant("removeMember"), id: idArb, nodeId: ghostArb }),
);

/**
 * Membership changes naming real members (and the phantom voter n9): for a server with an auth
 * file, where only the admin role may change membership and the fuzzer never has it.
 */
const memberArb = fc.constantFrom("n1", "n2", "n3", "n9");
export const memberChangeArb: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record({
    type: fc.constant("addMember"),
    id: idArb,
    nodeId: memberArb,
    peerAddress: fc.constantFrom("127.0.0.1:1", "localhost:7000"),
  }),
  fc.record({ type: fc.constant("promoteMember"), id: idArb, nodeId: memberArb }),
  fc.record({ type: fc.constant("removeMember"), id: idArb, nodeId: memberArb }),
);

export type ClientInput = FramedInput<ClientMessage>;

/** Hello variant 0 is valid; the others are wrong in one way each. */
function clientHellos(clusterId: string, authToken?: string): Record<string, unknown>[] {
  const base = {
    type: "hello",
    protocolVersion: PROTOCOL_VERSION,
    clusterId: null,
    role: "client",
    clientId: "fuzzer",
    ...(authToken === undefined ? {} : { authToken }),
  };
  const unauthenticated =
    authToken === undefined
      ? []
      : [
          { ...base, authToken: undefined },
          { ...base, authToken: `dlk_${"A".repeat(43)}` },
        ];
  return [
    base,
    { ...base, clusterId },
    { ...base, clusterId: "another-cluster" },
    { ...base, protocolVersion: 2 },
    { ...base, role: "peer", nodeId: "n1", clusterId },
    { ...base, clientId: undefined },
    { ...base, clientId: "x".repeat(129) },
    { type: "hello" },
    ...unauthenticated,
  ];
}

export const clientInputArb: fc.Arbitrary<ClientInput> = framedInputArb(clientMessageArb, 8);

/** With an auth file: membership changes of real members too, and hellos without a valid token. */
export const authClientInputArb: fc.Arbitrary<ClientInput> = framedInputArb(
  fc.oneof({ weight: 4, arbitrary: clientMessageArb }, { weight: 1, arbitrary: memberChangeArb }),
  10,
);

/** Refused by every server: a request whose id is not a number. */
const SENTINEL = { type: "get", id: "sentinel", key: 1 };

export function renderClientInput(input: ClientInput, context: ClientRenderContext): Rendered {
  const rendered = renderFramed(
    input,
    clientHellos(context.clusterId, context.authToken),
    (message) => ({ message, valid: true }),
    SENTINEL,
  );
  // Requests are judged valid by the server (an out-of-range ttl is an answer, not an attack):
  // every client input is held to the strict properties, so `valid` only labels the output.
  return rendered;
}
