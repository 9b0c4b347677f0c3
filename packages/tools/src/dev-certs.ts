// Development certificates for the local tools, made by running `dlock certs init` as an operator
// would (the tools never import the CLI's code: @dlock/cli depends on them for its tests).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { DLOCK_BIN, LocalClusterError } from "./local-cluster.js";

/** The files `dlock certs init` writes under its --dir (its documented output). */
export interface DevCertFiles {
  ca: string;
  nodes: Record<string, { cert: string; key: string }>;
  clients: Record<string, { cert: string; key: string }>;
}

export interface DevCertsRequest {
  dir: string;
  /** Node ids (at least one): each gets <id>.pem/<id>-key.pem. */
  nodes: readonly string[];
  /** Client names: each gets client-<name>.pem/client-<name>-key.pem. */
  clients?: readonly string[];
  bin?: string;
}

/**
 * Runs `dlock certs init`, which reuses ca.pem/ca-key.pem when present and (re)issues the node
 * and client certificates named. Rejects with the command's own message when it fails.
 */
export async function makeDevCertificates(request: DevCertsRequest): Promise<DevCertFiles> {
  const args = [
    request.bin ?? DLOCK_BIN,
    "certs",
    "init",
    "--dir",
    request.dir,
    "--nodes",
    request.nodes.join(","),
  ];
  if (request.clients !== undefined && request.clients.length > 0) {
    args.push("--clients", request.clients.join(","));
  }
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) {
    throw new LocalClusterError(
      `dlock certs init --dir ${request.dir} failed (exit ${String(code)}): ${stderr.trim() || "no output"}`,
    );
  }
  const pair = (name: string) => ({
    cert: join(request.dir, `${name}.pem`),
    key: join(request.dir, `${name}-key.pem`),
  });
  return {
    ca: join(request.dir, "ca.pem"),
    nodes: Object.fromEntries(request.nodes.map((id) => [id, pair(id)])),
    clients: Object.fromEntries((request.clients ?? []).map((n) => [n, pair(`client-${n}`)])),
  };
}
