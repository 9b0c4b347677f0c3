// The nemesis: one fault at a time, chosen by a seeded PRNG, held for a while and then healed,
// with a short calm between faults. Network faults act on the proxies, process faults on the
// real server processes (SIGKILL + restart from the data folder, SIGSTOP + SIGCONT).
import type { Prng } from "@dlock/testkit";
import type { ChaosCluster } from "./chaos-cluster.js";
import type { FaultProxy, LinkFault } from "./fault-proxy.js";
import type { History } from "./history.js";

export type FaultKind =
  | "partitionNode"
  | "cutLink"
  | "oneWayLink"
  | "delayPeers"
  | "resetConnections"
  | "cutClientLink"
  | "killNode"
  | "killLeader"
  | "pauseNode"
  | "pauseLeader";

export const FAULT_KINDS: readonly FaultKind[] = [
  "partitionNode",
  "cutLink",
  "oneWayLink",
  "delayPeers",
  "resetConnections",
  "cutClientLink",
  "killNode",
  "killLeader",
  "pauseNode",
  "pauseLeader",
];

export interface NemesisOptions {
  prng: Prng;
  history: History;
  ttlMs: number;
  /** A fault lasts between these (ms). */
  faultMs: [number, number];
  /** Calm between faults (ms). */
  calmMs: [number, number];
}

export class Nemesis {
  readonly counts = new Map<FaultKind, number>();
  private stopped = false;
  private running: Promise<void> | null = null;

  constructor(
    private readonly chaos: ChaosCluster,
    private readonly options: NemesisOptions,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  /** Stops after the current fault has been healed. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    const { prng } = this.options;
    while (!this.stopped) {
      await sleep(prng.between(...this.options.calmMs));
      if (this.stopped) break;
      const kind = prng.pick(FAULT_KINDS);
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
      await this.inject(kind, prng.between(...this.options.faultMs));
    }
  }

  private async inject(kind: FaultKind, durationMs: number): Promise<void> {
    const { prng, history } = this.options;
    const cluster = this.chaos.cluster;
    const ids = cluster.nodes.map((n) => n.id);
    const running = cluster.nodes.filter((n) => n.process !== null).map((n) => n.id);
    const node = prng.pick(ids);
    const other = prng.pick(ids.filter((id) => id !== node));
    const link = (from: string, to: string) =>
      this.chaos.peerLinks.get(`${from}->${to}`) as FaultProxy;
    const hold = async (description: string, heal: () => void | Promise<void>) => {
      history.fault(`${description} for ${Math.round(durationMs)} ms`);
      await sleep(durationMs);
      await heal();
      history.fault(`healed: ${description}`);
    };
    /** Holds `fault` on `links`, then heals them. */
    const holdOnLinks = async (
      links: readonly FaultProxy[],
      fault: LinkFault,
      description: string,
    ) => {
      for (const l of links) l.setFault(fault);
      await hold(description, () => {
        for (const l of links) l.setFault({ kind: "none" });
      });
    };
    /** A running node to kill or pause (only the leader for the leader kinds), or null for none. */
    const pickTarget = async (leaderOnly: boolean): Promise<string | null> => {
      if (running.length === 0) return null;
      return leaderOnly ? await this.leader(running) : prng.pick(running);
    };
    switch (kind) {
      case "partitionNode": {
        const links = ids
          .filter((id) => id !== node)
          .flatMap((id) => [link(node, id), link(id, node)]);
        await holdOnLinks(links, { kind: "cut" }, `partition ${node} from its peers`);
        return;
      }
      case "cutLink": {
        const links = [link(node, other), link(other, node)];
        await holdOnLinks(links, { kind: "cut" }, `cut ${node}<->${other}`);
        return;
      }
      case "oneWayLink": {
        await holdOnLinks(
          [link(node, other)],
          { kind: "oneWay", direction: "forward" },
          `one-way cut ${node}->${other} (bytes discarded)`,
        );
        return;
      }
      case "delayPeers": {
        await holdOnLinks(
          [...this.chaos.peerLinks.values()],
          { kind: "delay", meanMs: 75, jitterMs: 50 },
          "delay every peer link 75±50 ms",
        );
        return;
      }
      case "resetConnections": {
        const links = ids
          .filter((id) => id !== node)
          .flatMap((id) => [link(node, id), link(id, node)]);
        for (const l of links) l.reset();
        this.chaos.clientLinks.get(node)?.reset();
        history.fault(`reset every connection of ${node}`);
        return;
      }
      case "cutClientLink": {
        const l = this.chaos.clientLinks.get(node) as FaultProxy;
        await holdOnLinks([l], { kind: "cut" }, `cut clients from ${node}`);
        return;
      }
      case "killNode":
      case "killLeader": {
        const killed = await pickTarget(kind === "killLeader");
        if (killed === null) return;
        await cluster.kill(killed, "SIGKILL");
        await hold(`kill -9 ${killed}${kind === "killLeader" ? " (the leader)" : ""}`, () =>
          cluster.restart(killed),
        );
        return;
      }
      case "pauseNode":
      case "pauseLeader": {
        const paused = await pickTarget(kind === "pauseLeader");
        if (paused === null) return;
        // Long enough, often, for leases to run out while the node is frozen.
        const pauseMs = prng.between(0.3, 2.5) * this.options.ttlMs;
        cluster.pause(paused);
        history.fault(
          `SIGSTOP ${paused}${kind === "pauseLeader" ? " (the leader)" : ""} for ${Math.round(pauseMs)} ms`,
        );
        await sleep(pauseMs);
        cluster.resume(paused);
        history.fault(`SIGCONT ${paused}`);
        return;
      }
    }
  }

  private async leader(running: readonly string[]): Promise<string | null> {
    for (const id of running) {
      const status = await this.chaos.cluster.status(id, 500);
      if (status?.role === "leader") return id;
    }
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
