// Prometheus metrics of one server process. Each ServerMetrics owns its own Registry (never the
// global one), so several servers in one process (tests, `pnpm start`) do not collide.
import { Counter, Gauge, Registry } from "prom-client";
import type { NodeId } from "@dlock/raft";
import type { ClientLimit, ClientServerMetrics } from "../client-server/client-server-metrics.js";
import type { PeerTransportMetrics } from "../transport/transport-metrics.js";
import type { NodeStatusSnapshot } from "./status-provider.js";
import { PrimitiveMetrics } from "./primitive-metrics.js";
import { TalliedCounter, TalliedHistogram } from "./metric-tallies.js";
import type { HistogramTally } from "./metric-tallies.js";

const ROLES = ["follower", "preCandidate", "candidate", "leader"] as const;

/** Latency buckets in seconds: 50 µs to 2.5 s, dense around the ~0.3–2 ms fsync/commit range. */
const LATENCY_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5,
];

/** The watch service's figures for the metrics. */
export interface WatchStats {
  watchers: number;
  eventsSent: number;
  historyEvents: number;
  leaderships: number;
}

export interface ServerMetricsOptions {
  /** Read at scrape time for the raft gauges; absent until the host is wired. */
  statusSource?: () => NodeStatusSnapshot;
  /** Labels added to every series (e.g. { node: "n1" }). */
  defaultLabels?: Record<string, string>;
}

export class ServerMetrics implements ClientServerMetrics, PeerTransportMetrics {
  readonly registry = new Registry();
  /** Held, waiting, grants and expiries per primitive (lock, semaphore). */
  readonly primitives: PrimitiveMetrics;
  private statusSource: (() => NodeStatusSnapshot) | undefined;
  private watchSource: (() => WatchStats) | undefined;

  private readonly requests: TalliedCounter<"type" | "result">;
  private readonly requestSeconds: TalliedHistogram<"type">;
  private readonly clientConnections: Gauge;
  private readonly clientRejected: Counter<"reason">;
  private readonly clientLimited: Counter<"limit">;
  private readonly fsyncSeconds: HistogramTally;
  private readonly peerDropped: Counter<"peer">;
  private readonly peerQueueOverflows: Counter<"peer">;
  private readonly peerFrames: TalliedCounter<"peer">;
  private readonly peerMessages: TalliedCounter<"peer">;
  private readonly peerBytes: TalliedCounter<"peer">;
  private readonly peerConnected: Gauge<"peer">;
  private readonly peerInboundRejected: Counter<"reason">;
  private readonly raftRefused: Counter<"reason">;

  constructor(options: ServerMetricsOptions = {}) {
    this.statusSource = options.statusSource;
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
    const registers = [this.registry];
    this.primitives = new PrimitiveMetrics(this.registry);

    this.requests = new TalliedCounter({
      name: "dlock_client_requests_total",
      help: "Client requests completed, by request type and result (ok or error code).",
      labelNames: ["type", "result"],
      registers,
    });
    this.requestSeconds = new TalliedHistogram({
      name: "dlock_client_request_duration_seconds",
      help: "Time from receiving a client request to writing its reply.",
      labelNames: ["type"],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.clientConnections = new Gauge({
      name: "dlock_client_connections",
      help: "Open client connections.",
      registers,
    });
    this.clientRejected = new Counter({
      name: "dlock_client_connections_rejected_total",
      help: "Client connections refused or closed for cause, by error code.",
      labelNames: ["reason"],
      registers,
    });
    this.clientLimited = new Counter({
      name: "dlock_client_limited_total",
      help: "Times a client fairness limit acted, by limit (connections or requests refused, reading paused).",
      labelNames: ["limit"],
      registers,
    });
    this.fsyncSeconds = new TalliedHistogram({
      name: "dlock_storage_fsync_duration_seconds",
      help: "Duration of synced storage writes (one per group commit).",
      labelNames: [],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }).tally();
    this.peerDropped = new Counter({
      name: "dlock_peer_queue_dropped_messages_total",
      help: "Raft messages dropped because a peer's send queue was full.",
      labelNames: ["peer"],
      registers,
    });
    this.peerQueueOverflows = new Counter({
      name: "dlock_peer_queue_overflows_total",
      help: "Peer links dropped because more than the send queue byte cap was held for a peer that does not read.",
      labelNames: ["peer"],
      registers,
    });
    this.peerFrames = new TalliedCounter({
      name: "dlock_peer_frames_sent_total",
      help: "Frames written to peers.",
      labelNames: ["peer"],
      registers,
    });
    this.peerMessages = new TalliedCounter({
      name: "dlock_peer_messages_sent_total",
      help: "Raft messages written to peers.",
      labelNames: ["peer"],
      registers,
    });
    this.peerBytes = new TalliedCounter({
      name: "dlock_peer_sent_bytes_total",
      help: "Bytes written to peers, frame headers included.",
      labelNames: ["peer"],
      registers,
    });
    this.peerConnected = new Gauge({
      name: "dlock_peer_connected",
      help: "1 while the outbound connection to the peer is established and handshaken.",
      labelNames: ["peer"],
      registers,
    });
    this.raftRefused = new Counter({
      name: "dlock_raft_messages_refused_total",
      help: "Raft messages from peers that the core refused as impossible from a correct member, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.peerInboundRejected = new Counter({
      name: "dlock_peer_inbound_rejected_total",
      help: "Inbound peer connections refused or closed for bad input, by error code.",
      labelNames: ["reason"],
      registers,
    });

    // Raft gauges are read from the node at scrape time rather than pushed on every change.
    const readStatus = () => this.readStatus();
    /** A gauge of one value of the status; `value` undefined leaves the gauge as it was. */
    const statusGauge = (
      name: string,
      help: string,
      value: (status: NodeStatusSnapshot) => number | undefined,
    ) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const status = readStatus();
          const current = status === undefined ? undefined : value(status);
          if (current !== undefined) this.set(current);
        },
      });
    const readWatch = () => this.watchSource?.();
    const watchGauge = (name: string, help: string, value: (stats: WatchStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const stats = readWatch();
          if (stats !== undefined) this.set(value(stats));
        },
      });
    for (const [name, help, value] of [
      ["dlock_watchers", "Watch long-polls waiting on this node.", (s: WatchStats) => s.watchers],
      [
        "dlock_watch_events_sent",
        "Events answered to watchers by this node since it started.",
        (s: WatchStats) => s.eventsSent,
      ],
      [
        "dlock_watch_history_events",
        "Events held for watchers to resume from.",
        (s: WatchStats) => s.historyEvents,
      ],
      [
        "dlock_election_leaderships",
        "Leaderships begun (grants of election/ keys) applied since this node started.",
        (s: WatchStats) => s.leaderships,
      ],
    ] as const) {
      watchGauge(name, help, value);
    }
    statusGauge("dlock_raft_term", "Current Raft term.", (status) => status.term);
    statusGauge(
      "dlock_raft_commit_index",
      "Highest log index known committed.",
      (status) => status.commitIndex,
    );
    statusGauge(
      "dlock_raft_applied_index",
      "Highest log index applied to the lock table.",
      (status) => status.appliedIndex,
    );
    statusGauge("dlock_raft_has_leader", "1 when this node knows a leader.", (status) =>
      status.leader === null ? 0 : 1,
    );
    statusGauge(
      "dlock_node_healthy",
      "1 while the node can write to its data folder and takes requests, 0 otherwise.",
      (status) => (status.healthy === false ? 0 : 1),
    );
    statusGauge(
      "dlock_raft_log_entries",
      "Raft log entries stored above the last snapshot (compaction keeps this bounded).",
      (status) => status.raftLog?.entries,
    );
    statusGauge(
      "dlock_raft_log_bytes",
      "Stored bytes of the Raft log entries above the last snapshot.",
      (status) => status.raftLog?.bytes,
    );
    statusGauge(
      "dlock_raft_snapshot_index",
      "Index of the snapshot the Raft log starts after.",
      (status) => status.raftLog?.snapshotIndex,
    );
    new Gauge<"stat">({
      name: "dlock_event_loop_lag_seconds",
      help: "Event-loop lag (how late timers fire) over the last 10-20 s: p50, p99 and max.",
      labelNames: ["stat"],
      registers,
      collect() {
        const lag = readStatus()?.eventLoopLag;
        if (!lag) return;
        this.set({ stat: "p50" }, lag.p50Ms / 1000);
        this.set({ stat: "p99" }, lag.p99Ms / 1000);
        this.set({ stat: "max" }, lag.maxMs / 1000);
      },
    });
    statusGauge(
      "dlock_event_loop_lag_max_seconds",
      "Longest event-loop stall since the process started.",
      (status) =>
        status.eventLoopLag === undefined ? undefined : status.eventLoopLag.maxMsSinceStart / 1000,
    );
    new Gauge<"role">({
      name: "dlock_raft_role",
      help: "1 for this node's current Raft role, 0 for the others.",
      labelNames: ["role"],
      registers,
      collect() {
        const status = readStatus();
        if (!status) return;
        for (const role of ROLES) this.set({ role }, status.role === role ? 1 : 0);
      },
    });
  }

  /** Wire the watch service's figures (read at scrape time). */
  setWatchSource(source: () => WatchStats): void {
    this.watchSource = source;
  }

  /** Wire the node's status after construction (the host is built after the metrics). */
  setStatusSource(source: () => NodeStatusSnapshot): void {
    this.statusSource = source;
  }

  /** The storage layer reports each synced write. */
  observeFsync(durationMs: number): void {
    this.fsyncSeconds.observe(durationMs / 1000);
  }

  requestCompleted(type: string, result: string, durationMs: number): void {
    // Once per client request: a tally is a Map lookup and an addition (metric-tallies.ts).
    this.requests.tally(type, result).value++;
    this.requestSeconds.tally(type).observe(durationMs / 1000);
  }

  connectionsChanged(delta: number): void {
    this.clientConnections.inc(delta);
  }

  connectionRejected(reason: string): void {
    this.clientRejected.inc({ reason });
  }

  limitApplied(limit: ClientLimit): void {
    this.clientLimited.inc({ limit });
  }

  messagesDropped(peer: NodeId, count: number): void {
    this.peerDropped.inc({ peer }, count);
  }

  sendQueueOverflow(peer: NodeId): void {
    this.peerQueueOverflows.inc({ peer });
  }

  frameSent(peer: NodeId, messageCount: number, bytes: number): void {
    this.peerFrames.tally(peer).value++;
    this.peerMessages.tally(peer).value += messageCount;
    this.peerBytes.tally(peer).value += bytes;
  }

  peerConnection(peer: NodeId, connected: boolean): void {
    this.peerConnected.set({ peer }, connected ? 1 : 0);
  }

  raftMessageRefused(reason: string): void {
    this.raftRefused.inc({ reason });
  }

  inboundRejected(reason: string): void {
    this.peerInboundRejected.inc({ reason });
  }

  /** Prometheus text exposition of every metric of this server. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private readStatus(): NodeStatusSnapshot | undefined {
    if (!this.statusSource) return undefined;
    try {
      return this.statusSource();
    } catch {
      // A failing status source must not break the whole scrape; the gauges are just left out.
      return undefined;
    }
  }
}
