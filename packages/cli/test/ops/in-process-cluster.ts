// Three DlockServers in this process over real TCP (peer, client and admin ports), for the
// operations tests that need to reach into a server (its status, injected faults).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DlockServer } from "@dlock/server";
import type { DlockServerDependencies, ServerOptions } from "@dlock/server";
import { freePorts } from "@dlock/tools";

const IN_PROCESS_IDS = ["n1", "n2", "n3"];

export interface InProcessNode {
  id: string;
  server: DlockServer;
  client: string;
  http: string;
  /** What it was started with (restart() starts it again on the same folder and ports). */
  options: ServerOptions;
}

/** One test's servers and data folder: start() in the test, stop() in afterEach. */
export class InProcessCluster {
  nodes: InProcessNode[] = [];
  private root = "";

  /** `dependenciesOf` gives each server its injected faults. */
  async start(options: {
    prefix: string;
    clusterId: string;
    dependenciesOf?: (id: string) => DlockServerDependencies;
  }): Promise<InProcessNode[]> {
    this.root = await mkdtemp(join(tmpdir(), `dlock-${options.prefix}-`));
    const root = this.root;
    this.nodes = await startServers({
      ...options,
      root,
      beforeRetry: () => rm(root, { recursive: true, force: true }),
    });
    return this.nodes;
  }

  /**
   * Stops a node (if it runs) and starts it again on its data folder and ports, without injected
   * faults; it replaces the old one in `nodes`.
   */
  async restart(id: string): Promise<InProcessNode> {
    const index = this.nodes.findIndex((n) => n.id === id);
    const node = this.nodes[index];
    if (node === undefined) throw new Error(`no node ${id}`);
    await node.server.stop();
    const restarted = { ...node, server: await DlockServer.start(node.options) };
    this.nodes[index] = restarted;
    return restarted;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.server.stop()));
    this.nodes = [];
    if (this.root !== "") await rm(this.root, { recursive: true, force: true });
    this.root = "";
  }
}

/**
 * Starts one server per id under `root` (removed and tried again on fresh ports, at most three
 * times, when another test took a picked port before a server bound it: that race is not under
 * test).
 */
async function startServers(options: {
  root: string;
  clusterId: string;
  dependenciesOf?: (id: string) => DlockServerDependencies;
  /** Clears the data folders of a failed attempt. */
  beforeRetry: () => Promise<void>;
}): Promise<InProcessNode[]> {
  const ids = IN_PROCESS_IDS;
  const startAll = async (): Promise<Array<Promise<InProcessNode>>> => {
    const picked = await freePorts(3 * ids.length);
    const ports: Record<string, { client: number; peer: number; http: number }> = {};
    ids.forEach((id, i) => {
      const [client, peer, http] = picked.slice(3 * i, 3 * i + 3);
      ports[id] = { client, peer, http };
    });
    const peers = Object.fromEntries(ids.map((id) => [id, `127.0.0.1:${ports[id].peer}`]));
    return ids.map(async (id): Promise<InProcessNode> => {
      const serverOptions: ServerOptions = {
        id,
        dataDir: join(options.root, id),
        clusterId: options.clusterId,
        peers,
        clientListen: `127.0.0.1:${ports[id].client}`,
        peerListen: `127.0.0.1:${ports[id].peer}`,
        httpListen: `127.0.0.1:${ports[id].http}`,
        logLevel: "silent",
      };
      const server = await DlockServer.start(serverOptions, options.dependenciesOf?.(id) ?? {});
      return {
        id,
        options: serverOptions,
        server,
        client: `127.0.0.1:${ports[id].client}`,
        http: `http://127.0.0.1:${ports[id].http}`,
      };
    });
  };
  for (let attempt = 1; ; attempt++) {
    const started = await Promise.allSettled(await startAll());
    const nodes = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed === undefined) return nodes;
    await Promise.all(nodes.map((n) => n.server.stop()));
    await options.beforeRetry();
    if (!String(failed.reason).includes("EADDRINUSE") || attempt === 3) throw failed.reason;
  }
}
