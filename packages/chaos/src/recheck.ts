// `dlock-chaos --recheck FILE`: the linearizability check again, offline, on the requests a run
// saved (`<name>.wire.json`, see History.save), e.g. after a change to the checker or with a
// larger step budget.
import { readFile } from "node:fs/promises";
import type { WireOp } from "@dlock/testkit";
import { checkLinearizability } from "./linearizability-check.js";
import type { LinearizabilityCheckResult } from "./linearizability-check.js";

/** A flag or input file the chaos CLI cannot use (exit code 3, never taken for a verdict). */
export class ChaosInputError extends Error {
  readonly code = "CHAOS_INPUT";
}

export async function recheckWireFile(
  file: string,
  stepBudget?: number,
): Promise<LinearizabilityCheckResult> {
  let wire: unknown;
  try {
    wire = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new ChaosInputError(
      `cannot read ${file} as a saved chaos history (${String(error)}); pass a *.wire.json file that a chaos run saved`,
    );
  }
  if (!Array.isArray(wire)) {
    throw new ChaosInputError(
      `${file} is not a saved chaos history (expected a JSON array of wire requests); pass a *.wire.json file that a chaos run saved`,
    );
  }
  return checkLinearizability({ wire: wire as WireOp[] }, stepBudget);
}

/** One line per fact, like the run summary's linearizability line. */
export function formatRecheck(file: string, r: LinearizabilityCheckResult): string {
  const decided = r.keys - r.undecidedKeys.length;
  const lines = [
    `${file}: ${r.examined} operations on ${r.keys} keys; ${decided} of ${r.keys} keys decided in ${r.steps} steps over ${r.segments} segment searches, ${(r.searchMs / 1000).toFixed(1)} s`,
    ...r.violations.map((v) => `FAIL ${v}`),
    r.violations.length === 0 ? "no violations" : `${r.violations.length} violation(s)`,
    ...(r.undecidedKeys.length === 0
      ? []
      : [`INCONCLUSIVE: the search ran out of steps on ${r.undecidedKeys.join(", ")}`]),
  ];
  return `${lines.join("\n")}\n`;
}
