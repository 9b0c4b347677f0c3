import type { Entry } from "@dlock/raft";
import type { StateMachine } from "@dlock/server/internal";
import { RaftHost } from "@dlock/server/internal";
import { SafetyViolation } from "./checkers/violation.js";
import type { SimNodeStatus } from "./cluster-node.js";
import { HeldWork } from "./held-work.js";
import { AsyncWorld } from "./lock/async-world.js";
import { HostedSimNode } from "./lock/hosted-sim-node.js";
import type { ProcessStatus, SimProcess } from "./lock/sim-process.js";
import { SimProcessClock } from "./lock/sim-process.js";
import { SimCluster } from "./sim-cluster.js";
import type { SimClusterOptions } from "./sim-cluster.js";
import type { SimStateMachine } from "./state-machine.js";

/** The one record under which the generic state machine keeps its whole state on the disk. */
const STATE_RECORD_KEY = "state";

/** Read ids the host itself would take (the Raft-level driver reads through the core: 1, 2, ...). */
const HOST_READ_ID_FIRST = 1_000_000_000;

/** A simulated cluster whose nodes run the production RaftHost, and the world that drives it. */
export interface HostedRaftCluster {
  cluster: SimCluster;
  world: AsyncWorld;
  /**
   * The first thing that went wrong, or null: a checker's violation (even one the host caught in
   * its Ready loop) or a host that failed or did not start (the simulated disk never fails, so a
   * failed host is a broken core contract).
   */
  violation(): SafetyViolation | null;
  /** The RaftHost node `id` runs now (null while it is down or still starting). */
  hostOf(id: string): RaftHost<undefined> | null;
}

/**
 * The Raft-level simulator's cluster: every node is a HostedSimNode whose process runs RaftHost,
 * the class DlockServer runs, over a SimDisk (crash loses what was not synced), the simulated
 * network and a scheduler on the node's drifting clock, with the plan's generic state machine
 * (a hash chain by default) in place of the lock table. Run it with `world.runUntil`.
 */
export function hostedRaftCluster(
  options: Omit<SimClusterOptions, "createNode">,
): HostedRaftCluster {
  let world: AsyncWorld | null = null;
  let readNumber = HOST_READ_ID_FIRST;
  const processes = new Map<string, RaftProcess>();
  const cluster = new SimCluster({
    ...options,
    createNode: (nodeOptions, bootstrap, deps) => {
      world ??= new AsyncWorld(deps.world);
      const running = world;
      let process: RaftProcess | null = null;
      const node = new HostedSimNode(
        nodeOptions,
        bootstrap,
        {
          ...deps,
          events: {
            ...deps.events,
            statusChanged: (changed, status) => {
              process?.onStatusChanged(status);
              deps.events.statusChanged?.(changed, status);
            },
          },
        },
        {
          start: (started) => process?.startHost(started),
          readId: () => ++readNumber,
        },
      );
      process = new RaftProcess(node, running, () => deps.createStateMachine(node.id), {
        writesPerBatchMax: nodeOptions.readiesInFlightMax,
      });
      processes.set(node.id, process);
      return node;
    },
  });
  const violation = (): SafetyViolation | null => {
    if (cluster.monitor.violation !== null) return cluster.monitor.violation;
    for (const process of processes.values()) {
      const failure = process.failure();
      if (failure !== null) return cluster.monitor.report(failure);
    }
    return null;
  };
  const hostOf = (id: string): RaftHost<undefined> | null => processes.get(id)?.running ?? null;
  return { cluster, world: world ?? new AsyncWorld(cluster.world), violation, hostOf };
}

/**
 * The process of one Raft-level node: each incarnation starts a RaftHost with a fresh state
 * machine loaded from what the disk holds. Its timers and disk completions run on the node's
 * clock, wait while the node is paused and vanish with the incarnation.
 */
class RaftProcess implements SimProcess {
  readonly name: string;
  readonly clock: SimProcessClock;
  status: ProcessStatus = "down";
  incarnation = 0;
  private readonly held = new HeldWork();
  private host: RaftHost<undefined> | null = null;
  private startFailure: unknown = null;

  constructor(
    node: HostedSimNode,
    private readonly world: AsyncWorld,
    private readonly createStateMachine: () => SimStateMachine,
    private readonly settings: { writesPerBatchMax: number },
  ) {
    this.name = node.id;
    this.clock = new SimProcessClock(world, this, node.clockRate, 0);
  }

  defer(work: () => void): void {
    this.held.hold(work);
  }

  /** The host of the running incarnation (null while down or starting). */
  get running(): RaftHost<undefined> | null {
    return this.status === "down" ? null : this.host;
  }

  /** Why this process's host stopped working (null while it works or is down). */
  failure(): SafetyViolation | null {
    if (this.startFailure !== null) {
      return new SafetyViolation("coreContract", `${this.name}: RaftHost did not start`, {
        cause: this.startFailure,
      });
    }
    const host = this.host;
    if (host === null || this.status === "down" || host.healthy()) return null;
    const status = host.status();
    return new SafetyViolation(
      "coreContract",
      `${this.name}: RaftHost failed: ${status.failure ?? "unhealthy"}`,
    );
  }

  onStatusChanged(status: SimNodeStatus): void {
    const previous = this.status;
    this.status = status === "running" ? "running" : status === "paused" ? "paused" : "down";
    if (this.status === "down") {
      this.incarnation++;
      this.host = null;
      this.held.drop();
    } else if (this.status === "running" && previous === "paused") {
      this.held.runWhile(() => this.status === "running");
    }
  }

  /** A new incarnation: the state machine starts empty and loads what the disk synced. */
  startHost(node: HostedSimNode): void {
    this.incarnation++;
    this.held.drop();
    this.host = null;
    this.status = "running";
    const world = this.world;
    const machine = this.createStateMachine();
    const adapter = simStateMachineAdapter(machine, (index, installed) =>
      node.hostRestored(index, node.storedConf(), machine.digest(), installed),
    );
    const incarnation = this.incarnation;
    world.touch();
    RaftHost.start<undefined>({
      ...node.hostOptions(world, this, this.clock, adapter),
      writesPerBatchMax: this.settings.writesPerBatchMax,
    }).then(
      (host) => {
        if (incarnation !== this.incarnation) return;
        this.host = host;
        host.onApply((entries) => node.hostApplied(entries, machine.digest()));
      },
      (error: unknown) => {
        this.startFailure ??= error;
      },
    );
  }
}

/**
 * A SimStateMachine as RaftHost drives a state machine: its whole state is one record, written
 * with the batch after every apply; load and restore replace it with the record's bytes.
 * `restored(index, installed)` is told the index the state now stands at (at start: loaded).
 */
export function simStateMachineAdapter(
  machine: SimStateMachine,
  restored: (index: number, installed: boolean) => void,
): StateMachine<undefined> {
  let applied = 0;
  let dirty = false;
  const replace = (index: number, records: ReadonlyArray<readonly [string, Uint8Array]>): void => {
    const record = records.find(([key]) => key === STATE_RECORD_KEY);
    machine.restore(record?.[1] ?? new Uint8Array(0));
    applied = index;
    dirty = false;
  };
  return {
    apply(entries: readonly Entry[]): undefined[] {
      for (const entry of entries) {
        if (entry.kind === "normal") machine.apply(entry);
        applied = entry.index;
      }
      if (entries.length > 0) dirty = true;
      return new Array<undefined>(entries.length);
    },
    appliedIndex: () => applied,
    takeChanges() {
      if (!dirty) return [];
      dirty = false;
      return [[STATE_RECORD_KEY, machine.snapshot()]];
    },
    load(index, records) {
      replace(index, records);
      restored(index, false);
    },
    restore(index, records) {
      replace(index, records);
      restored(index, true);
    },
  };
}
