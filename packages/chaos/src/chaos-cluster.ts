// Real `dlock server` processes with a fault proxy on every directed peer link (a → b: the
// connection a dials to send its messages to b) and one in front of every node's client port.
// Nodes dial their peers through the proxies and advertise their client proxy, so leader
// redirects keep clients behind the proxies too.
import { LocalCluster, reservePorts } from "@dlock/tools";
import type { LocalNode, LocalNodePorts } from "@dlock/tools";
import { FaultProxy } from "./fault-proxy.js";

export interface ChaosClusterOptions {
  root: string;
  nodes: number;
  /** Jitter source of the proxies' delays. */
  random: () => number;
  tickMs: number;
  electionTicks: number;
}

export class ChaosCluster {
  readonly cluster: LocalCluster;
  /** Key `${from}->${to}`. */
  readonly peerLinks: Map<string, FaultProxy>;
  readonly clientLinks: Map<string, FaultProxy>;

  private constructor(
    cluster: LocalCluster,
    peerLinks: Map<string, FaultProxy>,
    clientLinks: Map<string, FaultProxy>,
  ) {
    this.cluster = cluster;
    this.peerLinks = peerLinks;
    this.clientLinks = clientLinks;
  }

  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    // The servers' ports stay bound until the proxies have theirs: a proxy listening on port 0
    // could otherwise be given a port picked for a server, which then cannot start.
    const reservation = await reservePorts(3 * options.nodes);
    const nodes = ids.map((id, i): { id: string; ports: LocalNodePorts } => {
      const [client, peer, http] = reservation.ports.slice(3 * i, 3 * i + 3);
      if (client === undefined || peer === undefined || http === undefined) {
        throw new Error(`reservePorts gave fewer ports than asked: none left for ${id}`);
      }
      return { id, ports: { client, peer, http } };
    });
    const peerLinks = new Map<string, FaultProxy>();
    const clientLinks = new Map<string, FaultProxy>();
    const proxies: FaultProxy[] = [];
    for (const { id: from, ports: fromPorts } of nodes) {
      for (const { id: to, ports: toPorts } of nodes) {
        if (from === to) continue;
        const proxy = new FaultProxy({
          target: { host: "127.0.0.1", port: toPorts.peer },
          random: options.random,
        });
        peerLinks.set(`${from}->${to}`, proxy);
        proxies.push(proxy);
      }
      const client = new FaultProxy({
        target: { host: "127.0.0.1", port: fromPorts.client },
        random: options.random,
      });
      clientLinks.set(from, client);
      proxies.push(client);
    }
    try {
      await Promise.all(proxies.map((p) => p.start()));
    } finally {
      await reservation.release();
    }
    const cluster = await LocalCluster.start({
      root: options.root,
      nodes: options.nodes,
      ports: nodes.map((node) => node.ports),
      clusterId: "dlock-chaos",
      tickMs: options.tickMs,
      electionTicks: options.electionTicks,
      clusterListFor: (node: LocalNode, all: readonly LocalNode[]) =>
        all
          .map((peer) =>
            peer.id === node.id
              ? `${peer.id}=${peer.peerAddress}`
              : `${peer.id}=${(peerLinks.get(`${node.id}->${peer.id}`) as FaultProxy).address}`,
          )
          .join(","),
      advertiseClientFor: (node: LocalNode) => (clientLinks.get(node.id) as FaultProxy).address,
    });
    return new ChaosCluster(cluster, peerLinks, clientLinks);
  }

  /** The client endpoints (the proxies in front of the client ports). */
  endpoints(): string[] {
    return this.cluster.nodes.map((n) => (this.clientLinks.get(n.id) as FaultProxy).address);
  }

  /** Every proxy back to passing bytes untouched. */
  healNetwork(): void {
    for (const proxy of [...this.peerLinks.values(), ...this.clientLinks.values()]) {
      proxy.setFault({ kind: "none" });
    }
  }

  async stop(): Promise<void> {
    await this.cluster.stop();
    await Promise.all(
      [...this.peerLinks.values(), ...this.clientLinks.values()].map((p) => p.stop()),
    );
  }
}
