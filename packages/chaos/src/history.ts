// What a chaos run records: every client operation (call and return time on the runner's
// monotonic clock, which every client in the run shares: it is the "true time" of the checks),
// every fault, and, in the history format the simulator records too (@dlock/testkit's
// lock-history: WireOp, Belief, ResourceWrite, Observation), every request on the wire, every
// grant as its holder believed in it, every write to the fenced resource and every leader an
// election observer reported. Saved as a readable timeline on
// failure.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Belief, Observation, ResourceWrite, WireOp } from "@dlock/testkit";

/**
 * acquire: a lock; semaphore: permits; rw: a reader-writer key as a reader or its writer;
 * campaign: an election's leadership; release: any of them;
 * observe: one observe() of an election, from its start until it ended.
 */
export type OpKind = "acquire" | "semaphore" | "rw" | "campaign" | "release" | "get" | "observe";

export interface OpRecord {
  kind: OpKind;
  client: string;
  key: string;
  value: string;
  callMs: number;
  /** null while pending; stays null if the run ended first (outcome unknown). */
  returnMs: number | null;
  outcome: "ok" | "busy" | "error" | "unknown";
  /** acquire: the token granted; release: the token released. */
  token: number | null;
  /** release: whether the cluster freed the lock; get: the holder seen. */
  detail: string;
}

export interface FaultRecord {
  atMs: number;
  description: string;
}

export class History {
  readonly ops: OpRecord[] = [];
  /** Every grant as its holder believed in it: from the reply until it stopped vouching. */
  readonly beliefs: Belief[] = [];
  /** Every write to the fenced resource (decided when sent: arriveMs is issueMs). */
  readonly writes: ResourceWrite[] = [];
  readonly faults: FaultRecord[] = [];
  /** Every request on the wire with its answer (see wire-recorder.ts). */
  readonly wire: WireOp[] = [];
  /** Every observe() of an election and the leaders it reported. */
  readonly observations: Observation[] = [];
  readonly startMs = performance.now();

  now(): number {
    return performance.now();
  }

  begin(kind: OpKind, client: string, key: string, value: string): OpRecord {
    const op: OpRecord = {
      kind,
      client,
      key,
      value,
      callMs: this.now(),
      returnMs: null,
      outcome: "unknown",
      token: null,
      detail: "",
    };
    this.ops.push(op);
    return op;
  }

  end(op: OpRecord, outcome: OpRecord["outcome"], token: number | null, detail = ""): void {
    op.returnMs = this.now();
    op.outcome = outcome;
    op.token = token;
    op.detail = detail;
  }

  /**
   * The client learned of a grant: it believes it holds (key, token) from now until endBelief.
   * Its validity is the client's own business: endBelief is called no later than it runs out.
   */
  beginBelief(
    client: string,
    key: string,
    value: string,
    token: number,
    permit?: { permits: number; count: number },
    rw?: "read" | "write",
  ): Belief {
    const startMs = this.now();
    const belief: Belief = {
      id: this.beliefs.length,
      client,
      key,
      value,
      token,
      startMs,
      extensions: [{ atMs: startMs, validUntilMs: Number.POSITIVE_INFINITY }],
      endMs: null,
      endReason: null,
    };
    if (permit !== undefined) belief.permit = { ...permit };
    if (rw !== undefined) belief.rw = rw;
    this.beliefs.push(belief);
    return belief;
  }

  /** A client starts observing an election (`key`): push its reports onto the returned record. */
  beginObservation(client: string, key: string): Observation {
    const observation: Observation = {
      id: this.observations.length,
      client,
      key,
      startMs: this.now(),
      reports: [],
    };
    this.observations.push(observation);
    return observation;
  }

  /** The holder stopped vouching at `atMs` (released, lost, or its validity ran out). */
  endBelief(belief: Belief, reason: string, atMs = this.now()): void {
    if (belief.endMs !== null) return;
    belief.endMs = atMs;
    belief.endReason = reason;
  }

  fault(description: string): void {
    this.faults.push({ atMs: this.now(), description });
  }

  /** Every event in time order, one per line, times in seconds from the start of the run. */
  timeline(): string {
    const lines: Array<[number, string]> = [];
    const t = (ms: number) => ((ms - this.startMs) / 1000).toFixed(3).padStart(8);
    for (const f of this.faults) lines.push([f.atMs, `${t(f.atMs)}  FAULT   ${f.description}`]);
    for (const op of this.ops) {
      const ret = op.returnMs === null ? "   (no return)" : ` → ${t(op.returnMs)}`;
      lines.push([
        op.callMs,
        `${t(op.callMs)}  ${op.kind.padEnd(7)} ${op.client} ${op.key} ${op.value}${ret} ${op.outcome}` +
          `${op.token !== null ? ` token=${op.token}` : ""}${op.detail ? ` ${op.detail}` : ""}`,
      ]);
    }
    for (const b of this.beliefs) {
      const until = b.endMs === null ? "running" : t(b.endMs);
      lines.push([
        b.startMs,
        `${t(b.startMs)}  GRANT   ${b.client} ${b.key} token=${b.token}${b.permit === undefined ? "" : ` ×${b.permit.count}/${b.permit.permits}`}${b.rw === undefined ? "" : ` ${b.rw}`} believed until ${until} (${b.endReason ?? "running"})`,
      ]);
    }
    for (const o of this.observations) {
      for (const { atMs, leader } of o.reports) {
        const who = leader === null ? "no leader" : `${leader.value} token=${leader.token}`;
        lines.push([atMs, `${t(atMs)}  LEADER  ${o.client} observes ${o.key}: ${who}`]);
      }
    }
    for (const w of this.writes) {
      lines.push([
        w.issueMs,
        `${t(w.issueMs)}  write   ${w.client} ${w.key} token=${w.token} ${w.accepted === true ? "accepted" : "REJECTED"}${w.believed ? "" : " (writer knew it was not valid)"}`,
      ]);
    }
    for (const w of this.wire) {
      const answer =
        w.response === null
          ? "(no answer)"
          : w.response.type === "ok"
            ? `ok ${JSON.stringify(w.response.result)}`
            : w.response.error.notApplied === true
              ? `${w.response.error.code} (not applied)`
              : w.response.error.code;
      const ret = w.returnMs === null ? "" : ` → ${t(w.returnMs)}`;
      const { type, value, token } = w.request as { type: string; value?: string; token?: number };
      lines.push([
        w.invokeMs,
        `${t(w.invokeMs)}    wire  ${w.client} ${type} ${w.key}${value !== undefined ? ` ${value}` : ""}` +
          `${token !== undefined ? ` token=${token}` : ""}${ret} ${answer}`,
      ]);
    }
    lines.sort((a, b) => a[0] - b[0]);
    return `${lines.map(([, line]) => line).join("\n")}\n`;
  }

  /**
   * Writes the timeline to `<name>.txt` and every request on the wire to `<name>.wire.json` (the
   * linearizability check can be run again on it, e.g. with a larger budget).
   */
  async save(folder: string, name: string, header: string): Promise<string> {
    await mkdir(folder, { recursive: true });
    const file = join(folder, `${name}.txt`);
    await writeFile(file, `${header}\n\n${this.timeline()}`);
    await writeFile(join(folder, `${name}.wire.json`), JSON.stringify(this.wire));
    return file;
  }
}
