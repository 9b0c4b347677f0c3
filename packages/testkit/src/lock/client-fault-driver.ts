import type { Prng } from "../prng.js";
import type { SimCluster } from "../sim-cluster.js";
import type { AsyncWorld } from "./async-world.js";
import type { SimClientNetwork } from "./client-network.js";
import type { SimLockClient } from "./lock-client.js";
import type { LockEventCounts } from "./lock-events.js";
import type { LockNodeHost } from "./lock-node-host.js";
import type { ClientFaultKind, ClientFaultStep } from "./lock-plan.js";

export interface ClientFaultDriverOptions {
  world: AsyncWorld;
  random: Prng;
  /**
   * Client clock jumps hit one of the first this many clients (default all): the lock clients,
   * not the semaphore clients after them, so those draw no jump away from the lock keys.
   */
  clockJumpClients?: number;
  cluster: SimCluster;
  clients: SimLockClient[];
  network: SimClientNetwork;
  hosts: ReadonlyMap<string, LockNodeHost>;
  faults: readonly ClientFaultStep[];
  faultPhaseMs: number;
  ttlMsMax: number;
  events: LockEventCounts;
}

/** Injects the lock plan's client faults (the Raft plan's node faults are ScheduleDriver's). */
export class ClientFaultDriver {
  readonly counts: Record<ClientFaultKind, number> = {
    clientPause: 0,
    clientCrash: 0,
    clientPartition: 0,
    clockJump: 0,
  };
  private over = false;
  private readonly heals = new Set<() => void>();
  private readonly pausedSince = new Map<SimLockClient, number>();

  constructor(private readonly options: ClientFaultDriverOptions) {}

  schedule(): void {
    const { world, faults, faultPhaseMs } = this.options;
    for (const step of faults) {
      if (step.atMs >= faultPhaseMs) continue;
      world.world.at(step.atMs, () => {
        if (!this.over) this.inject(step);
      });
    }
  }

  /** Faults stop: mend every client link, resume and restart every client. */
  healAll(): void {
    this.over = true;
    for (const heal of this.heals) heal();
    this.heals.clear();
    for (const client of this.options.clients) {
      if (client.status === "paused") this.resume(client);
      else if (client.status === "down") client.start();
    }
  }

  /** The client a step names: steps draw any number, taken modulo the client count. */
  private clientOf(drawn: number): SimLockClient {
    const { clients } = this.options;
    const client = clients[drawn % clients.length];
    if (client === undefined) throw new RangeError("a client fault step, but there are no clients");
    return client;
  }

  private inject(step: ClientFaultStep): void {
    const { world, clients, random, network, cluster, hosts } = this.options;
    world.world.trace.string(step.kind).int(step.atMs);
    switch (step.kind) {
      case "clientPause": {
        const client = this.clientOf(step.client);
        if (client.status !== "running") return;
        client.pause();
        this.pausedSince.set(client, world.nowMs);
        this.counts.clientPause++;
        this.later(step.forMs, () => this.resume(client));
        return;
      }
      case "clientCrash": {
        const client = this.clientOf(step.client);
        if (client.status === "down") return;
        client.crash();
        this.counts.clientCrash++;
        this.later(step.downMs, () => client.start());
        return;
      }
      case "clientPartition": {
        const client = this.clientOf(step.client);
        const members = cluster.members().map((node) => node.id);
        let nodes: string[];
        if (step.nodes === "leader") {
          const leader = cluster.leader();
          nodes = leader === undefined ? [] : [leader.id];
        } else if (step.nodes === "all") {
          nodes = members;
        } else {
          nodes = members.filter(() => random.chance(0.5));
        }
        if (nodes.length === 0) return;
        // One way: either requests or answers are lost (the other direction still works).
        const directions: [boolean, boolean] = step.oneWay
          ? random.chance(0.5)
            ? [true, false]
            : [false, true]
          : [true, true];
        const cuts: [string, string][] = [];
        for (const node of nodes) {
          if (directions[0]) cuts.push([client.name, node]);
          if (directions[1]) cuts.push([node, client.name]);
        }
        for (const [from, to] of cuts) network.cut(from, to);
        this.counts.clientPartition++;
        const heal = (): void => {
          for (const [from, to] of cuts) network.mend(from, to);
        };
        this.heals.add(heal);
        world.world.after(step.forMs, () => {
          if (this.heals.delete(heal)) {
            world.touch();
            heal();
          }
        });
        return;
      }
      case "clockJump": {
        if (step.target === "node") {
          const up = [...hosts.values()].filter((host) => host.status !== "down");
          if (up.length === 0) return;
          random.pick(up).clock.jumpWall(step.deltaMs);
        } else {
          random
            .pick(clients.slice(0, this.options.clockJumpClients ?? clients.length))
            .clock.jumpWall(step.deltaMs);
        }
        this.counts.clockJump++;
        return;
      }
    }
  }

  private resume(client: SimLockClient): void {
    const { world, ttlMsMax, events } = this.options;
    const since = this.pausedSince.get(client);
    this.pausedSince.delete(client);
    if (since !== undefined && world.nowMs - since > ttlMsMax) events.clientPauseLongerThanTtl++;
    world.touch();
    client.resume();
  }

  /** Runs `action` after `delayMs` unless the faults are over by then (the heal did it). */
  private later(delayMs: number, action: () => void): void {
    this.options.world.world.after(delayMs, () => {
      if (!this.over) action();
    });
  }
}
