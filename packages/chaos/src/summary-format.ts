// The human summary of a chaos run (the CLI and the CI test print it).
import type { LinearizabilityCheckResult } from "./linearizability-check.js";
import type { ChaosSummary } from "./run-chaos.js";

export function formatSummary(s: ChaosSummary): string {
  const lines = [
    `seed ${s.seed}: ${s.operations} operations in ${(s.durationMs / 1000).toFixed(1)}s (${s.operationsPerSecond}/s), ${s.grants} grants (${s.lostGrants} lost by their holder), writes ${s.writes.accepted} accepted / ${s.writes.rejected} rejected`,
    `clients: ${Object.entries(s.clientsByKind)
      .map(([kind, count]) => `${kind}=${count}`)
      .join(
        " ",
      )}; grants: locks ${s.grantsByPrimitive.lock}, semaphore permits ${s.grantsByPrimitive.semaphore}, rw ${s.grantsByPrimitive.rw}, leaderships ${s.grantsByPrimitive.election}; ${s.observations} observations reported ${s.leadersObserved} leaders`,
    `outcomes: ${Object.entries(s.outcomes)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
    `faults (${s.faultsTotal}): ${Object.entries(s.faults)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
    `liveness after heal (bound ${s.liveness.boundMs} ms): ${Object.entries(
      s.liveness.worstMsByPrimitive,
    )
      .map(([primitive, ms]) => `${primitive} ${ms === null ? "FAILED" : `${ms} ms`}`)
      .join(", ")}`,
    ...s.checks.map((c) => {
      const search = c as Partial<LinearizabilityCheckResult>;
      const undecided = search.undecidedKeys ?? [];
      const decided =
        search.keys === undefined
          ? ""
          : `; ${search.keys - undecided.length} of ${search.keys} keys decided in ` +
            `${search.steps} steps over ${search.segments} segment searches, ` +
            `${((search.searchMs ?? 0) / 1000).toFixed(1)} s`;
      const note =
        decided +
        (undecided.length > 0 ? `; undecided within budget: ${undecided.join(", ")}` : "");
      return `${c.violations.length === 0 ? "ok  " : "FAIL"} ${c.name} (${c.examined} examined${note})`;
    }),
    ...s.checks.flatMap((c) => c.violations.slice(0, 10).map((v) => `     ${v}`)),
    ...s.liveness.failures.map((f) => `FAIL liveness: ${f}`),
    s.violations === 0
      ? "no violations"
      : `${s.violations} violation(s); timeline: ${s.timelineFile}; replay the fault schedule with --seed ${s.seed}`,
    ...(s.undecidedKeys.length === 0
      ? []
      : [
          `INCONCLUSIVE: the linearizability search ran out of steps on ${s.undecidedKeys.join(", ")} ` +
            `(neither proven nor refuted); timeline: ${s.timelineFile}`,
        ]),
  ];
  return `${lines.join("\n")}\n`;
}
