// What fuzzing one port means: its inputs, how one is sent, and what the fuzzer requires of the
// server's answer to it alone. The cluster-wide properties are checked per batch (run-fuzz.ts).
import fc from "fast-check";
import type { LocalNode } from "@dlock/tools";
import type { AdminInput } from "./admin-inputs.js";
import { adminInputArb, renderAdminInput } from "./admin-inputs.js";
import type { ClientInput } from "./client-inputs.js";
import { authClientInputArb, clientInputArb, renderClientInput } from "./client-inputs.js";
import type { Connect } from "./connection.js";
import { connectPlain } from "./connection.js";
import type { FuzzCluster, NodeView } from "./fuzz-cluster.js";
import { CLUSTER_ID, PHANTOM_ID } from "./fuzz-cluster.js";
import { FUZZ_DEFAULTS } from "./fuzz-options.js";
import type { PeerInput } from "./peer-inputs.js";
import { peerInputArb, renderPeerInput } from "./peer-inputs.js";
import type { Outcome } from "./send.js";
import { sendInput } from "./send.js";
import type { FramedInput } from "./wire-input.js";

export type PortName = "client" | "peer" | "admin";
export const PORT_NAMES: readonly PortName[] = ["client", "peer", "admin"];

/** One input aimed at one node (by index into the cluster's nodes). */
export interface Targeted<I> {
  node: number;
  input: I;
}

export interface InputResult {
  /** Carried a message a member may rightly use to move the leadership (see peer-inputs.ts): weaker properties. */
  hostile: boolean;
  /** Violations seen on this input's own connection. */
  problems: string[];
}

export interface SendContext {
  fuzz: FuzzCluster;
  /** Each node's view just before the batch. */
  views: readonly NodeView[];
  /** Whether hostile inputs are sent (else they are skipped and counted). */
  includeOpen: boolean;
}

export interface PortFuzzer<I> {
  name: PortName;
  arb: fc.Arbitrary<Targeted<I>>;
  send(input: Targeted<I>, context: SendContext): Promise<InputResult & { skipped: boolean }>;
}

/** Connection setups per port: plaintext loopback unless the caller supplies another (e.g. TLS). */
export interface Connectors {
  client: Connect;
  peer: Connect;
  admin: Connect;
}

export const PLAIN_CONNECTORS: Connectors = {
  client: connectPlain,
  peer: connectPlain,
  admin: connectPlain,
};

function targeted<I>(arb: fc.Arbitrary<I>): fc.Arbitrary<Targeted<I>> {
  return fc.record({ node: fc.nat({ max: 2 }), input: arb });
}

/** The node an input is aimed at; `targeted` draws indexes of a three-node cluster. */
function targetNode(fuzz: FuzzCluster, node: number): LocalNode {
  const target = fuzz.cluster.nodes[node];
  if (target === undefined) {
    throw new RangeError(
      `an input aimed at node ${node}; the cluster has ${fuzz.cluster.nodes.length}`,
    );
  }
  return target;
}

/** Whether the byte stream reaches the server intact (no damage that could leave a frame open). */
function intact<M>(input: FramedInput<M>): boolean {
  return input.faults.length === 0;
}

/**
 * How long an input's connection is watched: an intact one until the server refuses its final
 * malformed frame or closes (later when a prelude may have opened a frame the server waits for
 * until its handshake timeout), a damaged one only for a short dwell.
 */
export function watchMs<M>(input: FramedInput<M>): number {
  if (!intact(input)) return FUZZ_DEFAULTS.damagedInputDwellMs;
  return input.prelude === null
    ? FUZZ_DEFAULTS.inputTimeoutMs
    : FUZZ_DEFAULTS.preludeInputTimeoutMs;
}

/** Checks every server-sent frame of a framed port: connection-level errors carry a typed code. */
function frameProblems(outcome: Outcome, mustClose: boolean, what: string): string[] {
  const problems: string[] = [];
  for (const frame of outcome.frames) {
    const f = frame as { type?: unknown; id?: unknown; error?: { code?: unknown } };
    if (typeof f !== "object" || f === null || "undecodable" in f) {
      problems.push(`${what}: the server sent an undecodable frame: ${JSON.stringify(frame)}`);
    } else if (f.type === "error" && typeof f.error?.code !== "string") {
      problems.push(`${what}: an error frame without a code: ${JSON.stringify(frame)}`);
    }
  }
  if (mustClose && outcome.timedOut) {
    problems.push(`${what}: the server neither refused the final malformed frame nor closed`);
  }
  return problems;
}

/** Sends a framed input's chunks on one connection, back to back, watched for watchMs(input). */
function sendFramed<M>(
  connect: Connect,
  address: string,
  chunks: readonly Buffer[],
  input: FramedInput<M>,
  closeAfterReplyMs = 0,
): Promise<Outcome> {
  return sendInput({
    connect,
    address,
    chunks,
    timeoutMs: watchMs(input),
    framed: true,
    endAfterWrite: false,
    gapMs: 0,
    dwellMs: 0,
    closeAfterReplyMs,
  });
}

/** The result of a framed input on `port` of node `nodeId`: a refused connection, or its frames. */
function framedResult<M>(
  outcome: Outcome,
  input: FramedInput<M>,
  nodeId: string,
  port: PortName,
  hostile: boolean,
): InputResult & { skipped: boolean } {
  const problems = outcome.refused
    ? [`${nodeId}: ${port} port refused the connection`]
    : frameProblems(outcome, intact(input), `${nodeId} ${port} port`);
  return { hostile, skipped: false, problems };
}

/** `authToken`: a `lock`-role token for a cluster with an auth file (membership changes of real members are then generated). */
export function clientPortFuzzer(
  connect: Connect,
  options: { authToken?: string } = {},
): PortFuzzer<ClientInput> {
  return {
    name: "client",
    arb: targeted(options.authToken === undefined ? clientInputArb : authClientInputArb),
    async send({ node, input }, { fuzz }) {
      const rendered = renderClientInput(input, {
        clusterId: CLUSTER_ID,
        ...(options.authToken === undefined ? {} : { authToken: options.authToken }),
      });
      const target = targetNode(fuzz, node);
      const outcome = await sendFramed(connect, target.clientAddress, rendered.chunks, input);
      return framedResult(outcome, input, target.id, "client", false);
    },
  };
}

/** The one error a connection that never gets past the hello may see (garbage before it included). */
const REFUSED_BEFORE_HELLO: ReadonlySet<string> = new Set([
  "HANDSHAKE_FAILED",
  "FRAME_TOO_LARGE",
  "MALFORMED_FRAME",
]);

/**
 * `refusedAtHandshake`: the connection carries no node certificate of the cluster (mutual TLS on
 * the peer port), so the server must refuse it at the handshake: without a certificate in the TLS
 * handshake; with a certificate the CA signed for a client, at the hello (one HANDSHAKE_FAILED
 * error, or a framing error for garbage before it, then closed). No other frame may come back, and no input can move the leadership (every
 * input is held to every property).
 */
export function peerPortFuzzer(
  connect: Connect,
  options: { refusedAtHandshake?: boolean } = {},
): PortFuzzer<PeerInput> {
  return {
    name: "peer",
    arb: targeted(peerInputArb),
    async send({ node, input }, { fuzz, views }) {
      const target = targetNode(fuzz, node);
      const term = views.find((v) => v.id === target.id)?.term ?? 0;
      const rendered = renderPeerInput(input, {
        clusterId: CLUSTER_ID,
        target: target.id,
        phantom: PHANTOM_ID,
        term,
      });
      const refusing = options.refusedAtHandshake === true;
      const outcome = await sendFramed(
        connect,
        target.peerAddress,
        rendered.chunks,
        input,
        refusing ? FUZZ_DEFAULTS.refusalCloseMsMax : 0,
      );
      if (refusing) {
        const answered = outcome.frames.filter(
          (f) =>
            !REFUSED_BEFORE_HELLO.has(String((f as { error?: { code?: unknown } }).error?.code)),
        );
        const problems =
          answered.length === 0 && outcome.frames.length <= 1
            ? []
            : [
                `${target.id}: peer port answered a connection without a node certificate: ${JSON.stringify(outcome.frames).slice(0, 300)}`,
              ];
        if (outcome.frames.length > 0 && outcome.timedOut) {
          problems.push(`${target.id}: peer port refused the hello but kept the connection open`);
        }
        return { hostile: false, skipped: false, problems };
      }
      return framedResult(outcome, input, target.id, "peer", rendered.hostile);
    },
  };
}

export function adminPortFuzzer(connect: Connect): PortFuzzer<AdminInput> {
  return {
    name: "admin",
    arb: targeted(adminInputArb),
    async send({ node, input }, { fuzz }) {
      const target = targetNode(fuzz, node);
      const bytes = renderAdminInput(input);
      const chunks = input.trickle
        ? Array.from(bytes.subarray(0, 40), (b) => Buffer.from([b]))
        : [bytes];
      const outcome = await sendInput({
        connect,
        address: target.httpAddress,
        chunks,
        timeoutMs: FUZZ_DEFAULTS.inputTimeoutMs,
        framed: false,
        stopOnReply: true,
        endAfterWrite: input.cutAt === null,
        gapMs: input.trickle ? 20 : 0,
        dwellMs: input.cutAt === null ? 0 : input.dwellMs,
      });
      const problems: string[] = [];
      if (outcome.refused) problems.push(`${target.id}: admin port refused the connection`);
      // 500 is what the admin server answers when its own handler threw.
      if (/^HTTP\/1\.[01] 500 /.test(outcome.head)) {
        problems.push(`${target.id}: admin port answered ${outcome.head.split("\r\n")[0]}`);
      }
      return { hostile: false, skipped: false, problems };
    },
  };
}
