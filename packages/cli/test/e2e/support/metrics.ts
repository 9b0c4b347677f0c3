// Reads the nodes' Prometheus /metrics to count what the servers saw (e.g. how many acquire
// requests were answered), independently of what the clients report.
import type { LocalCluster } from "./cluster.js";

/** Sum of `name{labels...}` series whose labels include every pair of `match`, over the running nodes. */
export async function sumMetric(
  cluster: LocalCluster,
  name: string,
  match: Record<string, string> = {},
  exclude: Record<string, string> = {},
): Promise<number> {
  let total = 0;
  for (const node of cluster.nodes) {
    if (node.process === null) continue;
    const response = await fetch(`http://${node.httpAddress}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) throw new Error(`${node.id} /metrics answered ${response.status}`);
    total += sumSeries(await response.text(), name, match, exclude);
  }
  return total;
}

/** Sum of the samples of `name` in a Prometheus text exposition whose labels match. */
export function sumSeries(
  text: string,
  name: string,
  match: Record<string, string>,
  exclude: Record<string, string> = {},
): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = parseLabels(line.slice(name.length));
    const ok =
      Object.entries(match).every(([k, v]) => labels[k] === v) &&
      Object.entries(exclude).every(([k, v]) => labels[k] !== v);
    if (!ok) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

function parseLabels(rest: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!rest.startsWith("{")) return labels;
  const body = rest.slice(1, rest.indexOf("}"));
  for (const match of body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]] = match[2];
  return labels;
}
