import type { Message, NodeId, RaftNode, Ready } from "@dlock/raft";
import { RawNode } from "@dlock/raft";
import { SILENT_LOGGER } from "@dlock/protocol";
import type {
  HostScheduler,
  PeerTransport,
  RaftHostOptions,
  ScheduledHandle,
} from "@dlock/server/internal";
import { RaftHost, lockStateMachineAdapter } from "@dlock/server/internal";
import type { HostPlantedBugs } from "@dlock/server/internal";
import { withHostPlantedBugs } from "@dlock/server/internal";
import type { LockLimits, LockResult } from "@dlock/server/lock";
import { LockStateMachine } from "@dlock/server/lock";
import type { SimNetwork } from "../network.js";
import type { Prng } from "../prng.js";
import { SimDisk } from "../sim-host-storage.js";
import type { SimCrashLoss, SimDiskTiming, SimHostStorage } from "../sim-host-storage.js";
import type { AsyncWorld } from "./async-world.js";
import { SimProcessBase, SimProcessClock } from "./sim-process.js";
import type { SimProcess } from "./sim-process.js";

/** How a simulated server runs its production RaftHost. */
export interface SimHostNodeOptions {
  id: NodeId;
  world: AsyncWorld;
  network: SimNetwork<Message>;
  /** This node's randomness (election jitter, fsync latency, torn crashes). */
  random: Prng;
  /** The voters the data folder starts with (and their empty peer addresses). */
  voters: readonly NodeId[];
  limits: LockLimits;
  /** Clock ms per true ms, and the clock's reading at true time 0. */
  clockRate: number;
  clockOriginMs: number;
  /** A synced batch completes after a delay uniform in [fsyncMsMin, fsyncMsMax]. */
  fsyncMsMin: number;
  fsyncMsMax: number;
  /** Probability that a crash keeps a prefix of the unsynced batches. */
  tornWriteRate: number;
  /** RaftHost settings (tick, election, compaction, snapshot chunk size, ...). */
  host: Omit<
    RaftHostOptions<LockResult>,
    "id" | "storage" | "transport" | "stateMachine" | "logger" | "scheduler" | "now" | "random"
  >;
  plantedBugs?: HostPlantedBugs;
}

/** A repeating tick on a process clock: re-armed before each call, so a callback may clear it. */
interface Repeating {
  timer: ScheduledHandle;
  cleared: boolean;
}

/**
 * One dlock server process in the simulator, running the production RaftHost (the very class
 * DlockServer runs) over the edges the simulator owns: a SimDisk for its data folder, the
 * simulated peer network, and a HostScheduler on the node's own drifting clock. Every callback
 * into the host marks the world touched, so AsyncWorld lets its promise continuations (group
 * commit, storage writes) run before the next event, as a Node process would.
 *
 * A crash drops the process (the RaftHost object, its timers, writes it waits for) and whatever
 * the disk had not synced; a restart opens the disk again and starts a new RaftHost.
 */
export class SimHostNode extends SimProcessBase {
  readonly name: NodeId;
  readonly clock: SimProcessClock;
  readonly disk: SimDisk;
  /** The running host (null while down or still starting). */
  raftHost: RaftHost<LockResult> | null = null;
  table: LockStateMachine | null = null;
  storage: SimHostStorage | null = null;
  readonly counters = { crashes: 0, crashesLosingWrites: 0, restarts: 0 };
  /** Why a RaftHost did not start (a bug: the simulated disk always opens). */
  startFailure: unknown = null;
  private handler: ((message: Message) => void) | null = null;
  private readonly startedListeners: ((host: RaftHost<LockResult>) => void)[] = [];

  constructor(private readonly options: SimHostNodeOptions) {
    super();
    this.name = options.id;
    this.clock = new SimProcessClock(options.world, this, options.clockRate, options.clockOriginMs);
    this.disk = new SimDisk({ voters: [...options.voters], learners: [], peerAddresses: {} });
  }

  /** Called with every new incarnation's host once it started (listeners, observers). */
  onStarted(listener: (host: RaftHost<LockResult>) => void): void {
    this.startedListeners.push(listener);
  }

  start(): void {
    if (this.status !== "down") return;
    const options = this.options;
    const incarnation = this.beginIncarnation();
    const soon = processSoon(options.world, this);
    const storage = this.disk.open(
      clockDiskTiming(this.clock, soon, () =>
        options.random.between(options.fsyncMsMin, options.fsyncMsMax),
      ),
    );
    const table = new LockStateMachine({ limits: options.limits });
    this.storage = storage;
    this.table = table;
    options.network.register(this.name, (message) => this.deliver(incarnation, message));
    const hostOptions: RaftHostOptions<LockResult> = {
      ...options.host,
      id: this.name,
      storage,
      transport: this.transport(),
      stateMachine: lockStateMachineAdapter(table),
      logger: SILENT_LOGGER,
      scheduler: clockScheduler(this.clock, soon),
      createNode: (config, raftStorage) =>
        touchingCore(new RawNode(config, raftStorage), options.world),
      now: () => this.clock.now(),
      random: () => options.random.float(),
    };
    this.options.world.touch();
    RaftHost.start(withHostPlantedBugs(hostOptions, options.plantedBugs ?? {})).then(
      (host) => {
        if (incarnation !== this.incarnation) return;
        this.raftHost = host;
        for (const listener of this.startedListeners) listener(host);
      },
      (error: unknown) => {
        this.startFailure ??= error;
      },
    );
  }

  /** The process dies: its host, timers and waiting writes are gone, unsynced batches too. */
  crash(): SimCrashLoss | null {
    if (this.status === "down") return null;
    this.halt();
    this.counters.crashes++;
    const loss = this.disk.crash(this.options.random, this.options.tornWriteRate);
    if (loss.survivedWrites < loss.unsyncedWrites) this.counters.crashesLosingWrites++;
    return loss;
  }

  restart(): void {
    if (this.status !== "down") return;
    this.counters.restarts++;
    this.start();
  }

  private halt(): void {
    this.endIncarnation();
    this.raftHost = null;
    this.table = null;
    this.storage = null;
    this.handler = null;
    this.options.network.unregister(this.name);
  }

  private transport(): PeerTransport {
    const network = this.options.network;
    const from = this.name;
    return {
      send: (messages) => {
        for (const message of messages) network.send(from, message.to, message);
      },
      onMessage: (handler) => {
        this.handler = handler;
        return () => {
          if (this.handler === handler) this.handler = null;
        };
      },
    };
  }

  private deliver(incarnation: number, message: Message): void {
    if (incarnation !== this.incarnation || this.status === "down") return;
    if (this.status === "paused") {
      this.defer(() => this.deliver(incarnation, message));
      return;
    }
    if (this.handler === null) return;
    this.handler(message);
  }
}

/** Runs work at this instant after the current event (touching the world if asked), for a process. */
export type Soon = (work: () => void, touches: boolean) => void;

/**
 * `soon` for a process: the work runs unless the process crashed meanwhile, after a pause ends if
 * it is paused. `touches`: it may enter promise-based code, so the world drains after it.
 */
export function processSoon(world: AsyncWorld, process: SimProcess): Soon {
  return (work, touches) => {
    const incarnation = process.incarnation;
    const run = (): void => {
      if (incarnation !== process.incarnation || process.status === "down") return;
      if (process.status === "paused") {
        process.defer(run);
        return;
      }
      if (touches) world.touch();
      work();
    };
    world.immediate(run);
  };
}

/**
 * Ticks, deliveries and deferred processing run quietly (no drain after them); a Ready that
 * makes the host persist, apply, answer reads or change role starts promise chains (group
 * commit, proposal results, role listeners), so taking one marks the world touched.
 */
export function touchingCore(core: RaftNode, world: AsyncWorld): RaftNode {
  const ready = core.ready.bind(core);
  core.ready = (): Ready => {
    const next = ready();
    if (
      next.entries.length > 0 ||
      next.hardState !== undefined ||
      next.snapshot !== undefined ||
      next.committedEntries.length > 0 ||
      next.readStates.length > 0 ||
      next.droppedReads.length > 0 ||
      next.softState !== undefined
    ) {
      world.touch();
    }
    return next;
  };
  return core;
}

/** A HostScheduler on a process clock: quiet ticks and deferred work, touching one-shot timers. */
export function clockScheduler(clock: SimProcessClock, soon: Soon): HostScheduler {
  return {
    setRepeating: (callback, periodMs) => {
      const repeating: Repeating = { timer: null, cleared: false };
      const fire = (): void => {
        if (repeating.cleared) return;
        arm();
        callback();
      };
      const arm = (): void => {
        repeating.timer = clock.setQuietTimeout(fire, periodMs);
      };
      arm();
      return repeating;
    },
    clearRepeating: (handle) => {
      const repeating = handle as Repeating;
      repeating.cleared = true;
      clock.clearTimeout(repeating.timer);
    },
    setTimer: (callback, delayMs) => clock.setTimeout(callback, delayMs),
    clearTimer: (handle) => clock.clearTimeout(handle),
    defer: (callback) => soon(callback, false),
  };
}

/** A SimDisk's timing on a process clock: completions wake promise code, so they touch. */
export function clockDiskTiming(
  clock: SimProcessClock,
  soon: Soon,
  fsyncDelayMs: () => number,
): SimDiskTiming {
  return {
    after: (callback, delayMs) => {
      if (delayMs <= 0) soon(callback, true);
      else clock.setTimeout(callback, delayMs);
    },
    fsyncDelayMs,
  };
}
