#!/usr/bin/env node
// Prints the top frames of V8 .cpuprofile files (as `node --cpu-prof` writes them): self time and
// inclusive time per function, and self time per area (a workspace package, a dependency, Node's
// internals, GC, idle). A profiling aid, not run in CI. After a build:
//
//   node packages/tools/dist/cpuprofile-top.js [--top 25] FILE.cpuprofile...
//
// To profile the servers under the bench: NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR" runs every
// node process (the bench and the three servers it spawns) under the profiler; each writes its
// file when it exits gracefully.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface FrameTime {
  name: string;
  selfMs: number;
  totalMs: number;
}

interface ProfileSummary {
  /** Sampled time, idle included (milliseconds). */
  sampledMs: number;
  idleMs: number;
  frames: FrameTime[];
  areas: Array<{ area: string; selfMs: number }>;
}

/** Self and inclusive time per function (recursion counted once per stack) and per area. */
function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfById = new Map<number, number>();
  let sampledMs = 0;
  for (const [i, sample] of profile.samples.entries()) {
    // timeDeltas[i] is the time before sample i; the next delta is the sample's own duration.
    const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    selfById.set(sample, (selfById.get(sample) ?? 0) + ms);
    sampledMs += ms;
  }
  const frames = new Map<string, FrameTime>();
  const areas = new Map<string, number>();
  const frameOf = (name: string): FrameTime => {
    let frame = frames.get(name);
    if (frame === undefined) {
      frame = { name, selfMs: 0, totalMs: 0 };
      frames.set(name, frame);
    }
    return frame;
  };
  const root = profile.nodes[0];
  const onStack = new Map<string, number>();
  // Inclusive time: a node's self time counts for every distinct function on its stack.
  const visit = (node: ProfileNode): void => {
    const name = frameName(node.callFrame);
    const self = selfById.get(node.id) ?? 0;
    const frame = frameOf(name);
    frame.selfMs += self;
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + self);
    onStack.set(name, (onStack.get(name) ?? 0) + 1);
    for (const [stacked] of onStack) frameOf(stacked).totalMs += self;
    for (const child of node.children ?? []) {
      const next = byId.get(child);
      if (next !== undefined) visit(next);
    }
    const depth = (onStack.get(name) ?? 1) - 1;
    if (depth === 0) onStack.delete(name);
    else onStack.set(name, depth);
  };
  if (root !== undefined) visit(root); // a profile without nodes has no time to attribute
  return {
    sampledMs,
    idleMs: frames.get("(idle)")?.selfMs ?? 0,
    frames: [...frames.values()],
    areas: [...areas]
      .map(([area, selfMs]) => ({ area, selfMs }))
      .sort((a, b) => b.selfMs - a.selfMs),
  };
}

function frameName(frame: CallFrame): string {
  const fn = frame.functionName === "" ? "(anonymous)" : frame.functionName;
  if (frame.url === "") return fn;
  return `${fn} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function shortUrl(url: string): string {
  const packages = url.lastIndexOf("/packages/");
  if (packages >= 0) return url.slice(packages + "/packages/".length);
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) return url.slice(modules + "/node_modules/".length);
  return url.replace(/^file:\/\//, "");
}

/** Where a frame's code lives: a workspace package, a dependency, Node itself, or V8's bookkeeping. */
function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node internals";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const [scope = "", name = ""] = url.slice(modules + "/node_modules/".length).split("/");
    return `dep ${scope.startsWith("@") ? `${scope}/${name}` : scope}`;
  }
  const packages = url.lastIndexOf("/packages/");
  if (packages >= 0) return `@dlock/${url.slice(packages + "/packages/".length).split("/")[0]}`;
  return "other";
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" } },
  });
  const top = Number(values.top);
  if (positionals.length === 0 || !Number.isInteger(top) || top < 1) {
    process.stderr.write("usage: cpuprofile-top [--top N] FILE.cpuprofile...\n");
    process.exit(2);
  }
  for (const file of positionals) {
    const summary = summarizeProfile(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
    const busy = summary.sampledMs - summary.idleMs;
    const pct = (ms: number) => `${((ms * 100) / busy).toFixed(1).padStart(5)}%`;
    const out: string[] = [
      `${file}: ${(summary.sampledMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (percentages of busy time)`,
      "  by area (self):",
      ...summary.areas
        .filter((a) => a.area !== "(idle)")
        .slice(0, 12)
        .map((a) => `    ${pct(a.selfMs)}  ${a.area}`),
      "  top self:",
      ...[...summary.frames]
        .filter((f) => f.name !== "(idle)")
        .sort((a, b) => b.selfMs - a.selfMs)
        .slice(0, top)
        .map((f) => `    ${pct(f.selfMs)}  ${f.name}`),
      "  top inclusive:",
      ...[...summary.frames]
        .filter((f) => !["(root)", "(idle)"].includes(f.name))
        .sort((a, b) => b.totalMs - a.totalMs)
        .slice(0, top)
        .map((f) => `    ${pct(f.totalMs)}  ${f.name}`),
    ];
    process.stdout.write(`${out.join("\n")}\n\n`);
  }
}

main();
