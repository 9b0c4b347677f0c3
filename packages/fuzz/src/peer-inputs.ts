// Peer-port inputs: peer hellos and Raft batches built from the @dlock/raft message types, sent
// as a member (`phantom`: listed in every node's --cluster but with no process, so claiming it
// never cuts a real peer's link). Terms are relative to the target's current term at send time.
//
// Valid messages from a member are not all harmless: one with a term a little above the
// target's is how Raft elects, so a member (the connection claims n9 on a plaintext loopback
// cluster) may rightly unseat a healthy leader with it. Those "member" inputs are sent and held
// to weaker properties (run-fuzz.ts). Terms no member may use (at or above TERM_MAX, or more
// than TERM_AHEAD_MAX above the target's) and leadership transfers from a non-leader are refused
// by Raft's input checks, so they are held to every property.
import fc from "fast-check";
import { FrameDecoder, PROTOCOL_VERSION } from "@dlock/protocol";
import type { FramedInput, Rendered } from "./wire-input.js";
import { framedInputArb, renderFramed } from "./wire-input.js";

/** Raft's TERM_MAX: a term at or above it is refused from anyone. */
export const TERM_MAX = 2 ** 48;
/** Raft's default termAheadMax: a term further above ours is refused from one voter alone. */
export const TERM_AHEAD_MAX = 2 ** 24;
/**
 * How far the target's term may move during one batch (member inputs of a few terms each,
 * elections): terms are relative to the term before the batch, so "far ahead" must stay far
 * ahead of the term at send time. Without it a member's small jumps made a "far ahead" term
 * legal by the time it arrived (seed 11).
 */
export const TERM_DRIFT_MAX = 2 ** 20;

/**
 * A term relative to the target's: negative is stale, 0 current; "max" 2^53 - 1, "ceiling"
 * TERM_MAX, "farAhead" more than TERM_AHEAD_MAX above the target's even after TERM_DRIFT_MAX.
 */
export type TermSpec = number | "max" | "ceiling" | "farAhead";

export interface PeerMessageSpec {
  type: string;
  term: TermSpec;
  /** Field values, by field name, beyond from/to/term/type. */
  fields: Record<string, unknown>;
}

export interface PeerRenderContext {
  clusterId: string;
  /** The node the connection goes to. */
  target: string;
  /** The member the fuzzer claims to be. */
  phantom: string;
  /** The target's term when the input is sent. */
  term: number;
}

const countArb = fc.oneof(
  fc.nat({ max: 50 }),
  fc.constantFrom(0, 2 ** 31, Number.MAX_SAFE_INTEGER),
);
const binaryArb = fc.uint8Array({ maxLength: 64 });
const termArb: fc.Arbitrary<TermSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -3, max: 0 }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("max" as const, "ceiling" as const, "farAhead" as const),
  },
);
const confChangeArb = fc.record(
  {
    type: fc.constantFrom("addLearner", "promote", "remove"),
    nodeId: fc.constantFrom("n1", "n2", "n3", "n9", "x"),
    context: binaryArb,
  },
  { requiredKeys: ["type", "nodeId"] },
);
const entryArb = fc.oneof(
  fc.record({ index: countArb, term: countArb, kind: fc.constant("normal"), data: binaryArb }),
  fc.record({
    index: countArb,
    term: countArb,
    kind: fc.constant("noop"),
    data: fc.constant(new Uint8Array(0)),
  }),
  fc.record({
    index: countArb,
    term: countArb,
    kind: fc.constant("config"),
    data: binaryArb,
    change: confChangeArb,
  }),
);
const confStateArb = fc.record({
  voters: fc.array(fc.constantFrom("n1", "n2", "n3", "n9"), { maxLength: 4 }),
  learners: fc.array(fc.constantFrom("n1", "n9", "x"), { maxLength: 2 }),
});

function spec(
  type: string,
  fields: fc.Arbitrary<Record<string, unknown>>,
): fc.Arbitrary<PeerMessageSpec> {
  return fc.record({ type: fc.constant(type), term: termArb, fields });
}

export const peerMessageArb: fc.Arbitrary<PeerMessageSpec> = fc.oneof(
  spec("preVote", fc.record({ lastIndex: countArb, lastTerm: countArb, transfer: fc.boolean() })),
  spec("vote", fc.record({ lastIndex: countArb, lastTerm: countArb, transfer: fc.boolean() })),
  spec("preVoteResp", fc.record({ granted: fc.boolean() })),
  spec("voteResp", fc.record({ granted: fc.boolean() })),
  spec(
    "append",
    fc.record({
      prevIndex: countArb,
      prevTerm: countArb,
      commit: countArb,
      entries: fc.array(entryArb, { maxLength: 4 }),
    }),
  ),
  spec(
    "appendResp",
    fc.record({ reject: fc.boolean(), index: countArb, hintIndex: countArb, hintTerm: countArb }),
  ),
  spec("heartbeat", fc.record({ commit: countArb, readContext: countArb })),
  spec("heartbeatResp", fc.record({ readContext: countArb })),
  spec(
    "snapshot",
    fc.record({
      metadata: fc.record({ index: countArb, term: countArb, confState: confStateArb }),
      offset: fc.nat({ max: 100 }),
      data: binaryArb,
      totalBytes: fc.oneof(fc.nat({ max: 200 }), fc.constant(2 * 1024 * 1024 * 1024 + 1)),
      done: fc.boolean(),
    }),
  ),
  spec(
    "snapshotResp",
    fc.record({
      snapshotIndex: countArb,
      nextOffset: countArb,
      done: fc.boolean(),
      reject: fc.boolean(),
    }),
  ),
  spec("timeoutNow", fc.constant({})),
);

/** Types only a leader sends: from anyone else at the current term they are forged. */
const HOSTILE_TYPES_AT_CURRENT_TERM: ReadonlySet<string> = new Set([
  "append",
  "heartbeat",
  "snapshot",
]);

/** A batch of messages per frame. */
export type PeerFrameSpec = PeerMessageSpec[];

/**
 * `open: false` (three inputs in four) renders every term stale or current and leaves out
 * leadership transfers, so that most inputs are held to every property even when hostile
 * messages are not sent; the bytes are still checked (a flipped bit can make a term huge).
 */
export type PeerInput = FramedInput<PeerFrameSpec> & { open: boolean };

export const peerInputArb: fc.Arbitrary<PeerInput> = fc
  .tuple(
    framedInputArb(fc.array(peerMessageArb, { minLength: 0, maxLength: 4 }), 8),
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
  )
  .map(([framed, open]) => ({ ...framed, open }));

/** The term an `open: false` input uses instead: stale for a leader's messages, else at most current. */
function tamedTerm(message: PeerMessageSpec): TermSpec {
  const ceiling = HOSTILE_TYPES_AT_CURRENT_TERM.has(message.type) ? -1 : 0;
  return typeof message.term === "number" ? Math.min(message.term, ceiling) : ceiling;
}

function absoluteTerm(term: TermSpec, current: number): number {
  if (term === "max") return Number.MAX_SAFE_INTEGER;
  if (term === "ceiling") return TERM_MAX;
  if (term === "farAhead") return current + TERM_AHEAD_MAX + TERM_DRIFT_MAX + 1;
  return Math.max(0, current + term);
}

function peerHellos(context: PeerRenderContext): Record<string, unknown>[] {
  const base = {
    type: "hello",
    protocolVersion: PROTOCOL_VERSION,
    clusterId: context.clusterId,
    role: "peer",
    nodeId: context.phantom,
  };
  return [
    base,
    { ...base, clusterId: "another-cluster" },
    { ...base, clusterId: null },
    { ...base, protocolVersion: 0 },
    { ...base, nodeId: context.target },
    { ...base, nodeId: "intruder" },
    { ...base, role: "client", clientId: "x" },
    { ...base, clientAddress: "x".repeat(301) },
  ];
}

/** Refused by every server: a batch whose messages are not a list. */
const SENTINEL = { type: "raft", messages: "sentinel" };

export interface RenderedPeer extends Rendered {
  /** Could carry a message a member may rightly send to move the leadership (a term a little above the target's: an election or a new leader; a leader's message at the current term). Held to the weaker properties; everything else must not change who leads. */
  hostile: boolean;
}

/**
 * Whether the byte stream, read as the server reads it (frames in order until the first one it
 * cannot decode), could deliver a message that a member may rightly use to move the leadership. Reading the bytes rather
 * than the description matters: a flipped bit can turn a stale term into a huge one.
 * Conservative: any decodable message with such a term or type counts, even in a batch the
 * server may refuse for another reason.
 */
export function carriesHostileMessage(chunks: readonly Buffer[], term: number): boolean {
  const decoder = new FrameDecoder();
  let hostile = false;
  let frames = 0;
  try {
    for (const chunk of chunks) {
      decoder.push(chunk, (body) => {
        frames++;
        if (frames === 1) return; // The hello: it can open the connection, not move a term.
        const batch = body as { type?: unknown; messages?: unknown };
        if (typeof batch !== "object" || batch === null || !Array.isArray(batch.messages)) return;
        for (const message of batch.messages as unknown[]) {
          if (typeof message !== "object" || message === null) continue;
          const m = message as { type?: unknown; term?: unknown };
          if (typeof m.term !== "number") continue;
          // Refused whatever their type: at or above TERM_MAX, or too far ahead for one voter.
          const ahead = m.term - term;
          if (ahead > 0 && m.term < TERM_MAX && ahead <= TERM_AHEAD_MAX + TERM_DRIFT_MAX)
            hostile = true;
          if (m.term === term && HOSTILE_TYPES_AT_CURRENT_TERM.has(String(m.type))) hostile = true;
        }
      });
    }
  } catch {
    // The server stops reading here too.
  }
  return hostile;
}

export function renderPeerInput(input: PeerInput, context: PeerRenderContext): RenderedPeer {
  const rendered = renderFramed(
    input,
    peerHellos(context),
    (batch) => ({
      message: {
        type: "raft",
        messages: batch.map((m) => ({
          ...m.fields,
          type: m.type,
          from: context.phantom,
          to: context.target,
          term: absoluteTerm(input.open ? m.term : tamedTerm(m), context.term),
        })),
      },
      valid: true,
    }),
    SENTINEL,
  );
  return { ...rendered, hostile: carriesHostileMessage(rendered.chunks, context.term) };
}
