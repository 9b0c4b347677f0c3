// Fuzzes several ports one after the other against one cluster, splitting the time budget.
import type { FuzzCluster } from "./fuzz-cluster.js";
import type { Connectors, PortName } from "./ports.js";
import { adminPortFuzzer, clientPortFuzzer, peerPortFuzzer, PLAIN_CONNECTORS } from "./ports.js";
import type { PortRunSummary } from "./run-fuzz.js";
import { runPort } from "./run-fuzz.js";

export interface FuzzPortsOptions {
  fuzz: FuzzCluster;
  ports: readonly PortName[];
  seed: number;
  inputs: number;
  /** Connections open at once within a batch (default FUZZ_DEFAULTS.concurrency). */
  concurrency?: number;
  /** Most inputs in one batch (default FUZZ_DEFAULTS.batchSizeMax). */
  batchSizeMax?: number;
  budgetMs: number;
  includeOpen: boolean;
  path?: string;
  connectors?: Connectors;
  /** The peer connector carries no node certificate (mutual TLS): see peerPortFuzzer. */
  peerRefusedAtHandshake?: boolean;
  progress?: (line: string) => void;
}

export async function fuzzPorts(options: FuzzPortsOptions): Promise<PortRunSummary[]> {
  const connectors = options.connectors ?? PLAIN_CONNECTORS;
  const end = Date.now() + options.budgetMs;
  const summaries: PortRunSummary[] = [];
  for (const [i, port] of options.ports.entries()) {
    // Each port gets an equal share of what is left.
    const deadlineMs = Date.now() + (end - Date.now()) / (options.ports.length - i);
    const common = {
      fuzz: options.fuzz,
      seed: options.seed,
      inputs: options.inputs,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.batchSizeMax === undefined ? {} : { batchSizeMax: options.batchSizeMax }),
      deadlineMs,
      includeOpen: options.includeOpen,
      ...(options.path === undefined ? {} : { path: options.path }),
      ...(options.progress === undefined ? {} : { progress: options.progress }),
    };
    const summary =
      port === "client"
        ? await runPort(clientPortFuzzer(connectors.client), common)
        : port === "peer"
          ? await runPort(
              peerPortFuzzer(connectors.peer, {
                refusedAtHandshake: options.peerRefusedAtHandshake === true,
              }),
              common,
            )
          : await runPort(adminPortFuzzer(connectors.admin), common);
    // A failure in one port does not stop the others: each is reported with its replay line.
    summaries.push(summary);
  }
  return summaries;
}
