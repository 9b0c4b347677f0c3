// What a chaos run records: every client operation (call and return time on the runner's
// monotonic clock, which every client in the run shares: it is the "true time" of the checks),
// every write to the fenced resource, and every fault. Saved as a readable timeline on failure.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { WireOp } from "@dlock/testkit";

export type OpKind = "acquire" | "release" | "get";

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

/** One grant as its holder lived it: from the reply until it stopped vouching. */
export interface GrantRecord {
  client: string;
  key: string;
  value: string;
  token: number;
  /** When the acquire was sent (validity is counted from here). */
  sentMs: number;
  /** When the client learned of the grant: it believes it holds from here. */
  grantedMs: number;
  /** When the client stopped believing: release called, loss declared, or validity ran out. */
  believedUntilMs: number | null;
  end: "released" | "lost" | "running";
}

export interface WriteRecord {
  client: string;
  key: string;
  token: number;
  atMs: number;
  accepted: boolean;
  /** The writer's lock was valid by its own clock when it wrote. */
  believedValid: boolean;
}

export interface FaultRecord {
  atMs: number;
  description: string;
}

export class History {
  readonly ops: OpRecord[] = [];
  readonly grants: GrantRecord[] = [];
  readonly writes: WriteRecord[] = [];
  readonly faults: FaultRecord[] = [];
  /** Every request on the wire with its answer (see wire-recorder.ts). */
  readonly wire: WireOp[] = [];
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
    for (const g of this.grants) {
      const until = g.believedUntilMs === null ? "running" : t(g.believedUntilMs);
      lines.push([
        g.grantedMs,
        `${t(g.grantedMs)}  GRANT   ${g.client} ${g.key} token=${g.token} believed until ${until} (${g.end})`,
      ]);
    }
    for (const w of this.writes) {
      lines.push([
        w.atMs,
        `${t(w.atMs)}  write   ${w.client} ${w.key} token=${w.token} ${w.accepted ? "accepted" : "REJECTED"}${w.believedValid ? "" : " (writer knew it was not valid)"}`,
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
