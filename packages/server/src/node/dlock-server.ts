// One `dlock server` process: LevelDB storage, the Raft host, the TCP peer transport, the lock
// service (lock table + leader leases), the client port and the admin port, wired together from
// one ServerOptions. start() brings them up in dependency order; stop() is the graceful shutdown
// of SIGTERM: hand leadership over, drain clients, flush, close.
import { mkdir } from "node:fs/promises";
import type { NodeId } from "@dlock/raft";
import { AdminServer } from "../admin/admin-server.js";
import { EventLoopLag } from "../admin/event-loop-lag.js";
import { ServerMetrics } from "../admin/server-metrics.js";
import { ReadinessTracker } from "../admin/readiness.js";
import type { NodeStatusSnapshot } from "../admin/status-provider.js";
import { ClientServer } from "../client-server/client-server.js";
import { componentLogger, createLogger } from "../config/logger.js";
import type { Logger } from "../config/logger.js";
import { formatHostPort, parseHostPort } from "@dlock/protocol";
import { resolveServerOptions } from "../config/server-options.js";
import type { ResolvedServerOptions, ServerOptions } from "../config/server-options.js";
import { lockStateMachineAdapter } from "../host/lock-state-machine-adapter.js";
import { RaftHost } from "../host/raft-host.js";
import type { HostStatus } from "../host/raft-host.js";
import { LeaseManager, LockStateMachine } from "../lock/index.js";
import type { LockResult } from "../lock/index.js";
import { LevelStorage } from "../storage/level-storage.js";
import { EMPTY_MEMBERS } from "../storage/members-record.js";
import { TcpPeerTransport } from "../transport/tcp-peer-transport.js";
import type { ClientRequestHandler } from "../client-server/client-request-handler.js";
import { AuthorizingHandler } from "../auth/authorizing-handler.js";
import { startAuthentication } from "../auth/auth-startup.js";
import { loadAuthFile } from "../auth/auth-file.js";
import type { Authenticator } from "../auth/authenticator.js";
import { LimitsChangeLog } from "./limits-change-log.js";
import { LockService } from "./lock-service.js";
import { MembershipService } from "./membership-service.js";
import type { MembershipRequest } from "./membership-service.js";
import { bootstrapIfNew } from "./bootstrap.js";
import { dataFolderId, PeerDataIds } from "./peer-data-ids.js";
import { forceNewCluster } from "../storage/force-new-cluster.js";
import { oncePerTurn } from "./once-per-turn.js";
import { PeerDirectory } from "./peer-directory.js";
import { storageWriteFaultOf } from "./storage-write-fault.js";
import { loadTlsFiles } from "./tls-files.js";
import type { TlsOptions } from "../transport/tls-options.js";
import {
  logTableLimitsAtStart,
  nodeStatusSnapshot,
  statusResult,
  tableLimitsStatus,
} from "./node-status.js";
import { snapshotSource } from "./snapshot-source.js";
import type { MemberAddresses } from "./node-status.js";

export interface DlockServerDependencies {
  /** Where logs go; a JSON-lines pino logger on stdout at options.logLevel by default. */
  logger?: Logger;
}

export interface DlockServerAddresses {
  client: string;
  peer: string;
  http: string | null;
}

export class DlockServer {
  readonly options: ResolvedServerOptions;
  readonly logger: Logger;
  private readonly host: RaftHost<LockResult>;
  private readonly transport: TcpPeerTransport;
  private readonly service: LockService;
  private readonly clientServer: ClientServer;
  private readonly admin: AdminServer | null;
  private readonly addressBook: MemberAddresses;
  private readonly lag: EventLoopLag;
  private readonly table: LockStateMachine;
  /** Null without --auth-file. */
  private readonly authenticator: Authenticator | null;
  private stopping: Promise<void> | null = null;

  private constructor(parts: {
    options: ResolvedServerOptions;
    logger: Logger;
    host: RaftHost<LockResult>;
    transport: TcpPeerTransport;
    service: LockService;
    clientServer: ClientServer;
    admin: AdminServer | null;
    addressBook: MemberAddresses;
    lag: EventLoopLag;
    table: LockStateMachine;
    authenticator: Authenticator | null;
  }) {
    this.options = parts.options;
    this.logger = parts.logger;
    this.host = parts.host;
    this.transport = parts.transport;
    this.service = parts.service;
    this.clientServer = parts.clientServer;
    this.admin = parts.admin;
    this.addressBook = parts.addressBook;
    this.lag = parts.lag;
    this.table = parts.table;
    this.authenticator = parts.authenticator;
  }

  /** Validates the options, opens the data folder and starts every listener. */
  static async start(
    input: ServerOptions,
    dependencies: DlockServerDependencies = {},
  ): Promise<DlockServer> {
    const options = resolveServerOptions(input);
    const logger =
      dependencies.logger ?? createLogger({ level: options.logLevel, nodeId: options.id });
    const nowMs = () => performance.now();
    const metrics = new ServerMetrics({ defaultLabels: { node: options.id } });
    // Before the data folder opens: a bad auth file stops the start with nothing to undo.
    const authLogger = componentLogger(logger, "auth");
    const authenticator = await startAuthentication(
      options.authFile,
      parseHostPort(options.clientListen, "clientListen", { portZero: true, hostEmpty: true }).host,
      authLogger,
    );
    const lag = new EventLoopLag();

    if (options.insecure) {
      logger.warn(
        { client: options.clientListen, peer: options.peerListen, http: options.httpListen },
        "--insecure: ports off loopback may run without TLS; anyone who reaches them can pose as a peer or a client",
      );
    }
    // Before the data folder: a bad certificate must not leave anything behind.
    const tls = options.tlsFiles === null ? null : await loadTlsFiles(options.tlsFiles, options.id);

    await mkdir(options.dataDir, { recursive: true });
    const storage = await LevelStorage.open({
      dataDir: options.dataDir,
      clusterId: options.clusterId,
      nodeId: options.id,
      // Founders put the members in the log (bootstrapIfNew); joiners learn them from it.
      initialMembers: EMPTY_MEMBERS,
      fsync: options.fsync,
      onSyncedWrite: (durationMs) => metrics.observeFsync(durationMs),
      writeFault: storageWriteFaultOf(dependencies),
    });
    const started: Array<{ stop(): Promise<void> }> = [];
    try {
      if (await bootstrapIfNew(storage, { join: options.join, peers: options.peers })) {
        logger.info({ members: Object.keys(options.peers).sort() }, "founded a new cluster");
      }
      if (storage.migrations.length > 0) {
        logger.info(
          { migrations: storage.migrations },
          "data folder migrated to the current format",
        );
      }
      if (storage.finishedInstall !== null) {
        logger.warn(
          { snapshotIndex: storage.finishedInstall },
          "finished a snapshot install that a crash had cut short (redone from its snapshot file)",
        );
      }
      if (options.forceNewCluster) {
        const forced = await forceNewCluster(storage, options.id);
        logger.warn(
          forced,
          "--force-new-cluster: this node is now the only member; add the others back with dlock member add, and start it without the flag from now on",
        );
      }
      // The replicated members decide whom to dial; the command-line list bootstraps a new
      // cluster, tells a joining node whom to reach, and gives members that moved their address.
      let transport: TcpPeerTransport | null = null;
      const directory = new PeerDirectory({
        self: options.id,
        seeds: options.peers,
        applied: storage.appliedMembers(),
        transport: {
          setPeers: (peers) => transport?.setPeers(peers),
          setFormerPeers: (ids) => transport?.setFormerPeers(ids),
        },
      });
      for (const moved of directory.movedMembers()) {
        logger.warn(
          moved,
          "a member's peer address on the command line differs from the replicated one; dialing the command line's",
        );
      }
      // A voter that lost its disk must not come back as the same voter (peer-data-ids.ts).
      const dataCheck = await PeerDataIds.load({
        storage,
        dataId: await dataFolderId(storage),
        peerIds: [...new Set([...Object.keys(options.peers), ...Object.keys(directory.peers())])],
        isVoter: (id) => storage.appliedMembers().voters.includes(id),
        logger: componentLogger(logger, "peer"),
      });
      transport = new TcpPeerTransport({
        nodeId: options.id,
        clusterId: options.clusterId,
        listen: options.peerListen,
        peers: directory.peers(),
        advertisedClientAddress: options.advertisedClientAddress,
        frameBytesMax: options.peerFrameBytesMax,
        sendQueueBytesMax: options.peerSendQueueBytesMax,
        ...(tls === null ? {} : { tls }),
        logger: componentLogger(logger, "peer"),
        metrics,
        dataCheck,
      });
      transport.setFormerPeers(directory.acceptedFormerPeers());
      await transport.start();
      started.push(transport);

      const table = new LockStateMachine({ limits: options.lockLimits });
      const host = await RaftHost.start<LockResult>({
        id: options.id,
        storage,
        transport,
        stateMachine: lockStateMachineAdapter(table),
        logger: componentLogger(logger, "raft"),
        tickMs: options.tickMs,
        electionTicks: options.electionTicks,
        heartbeatTicks: options.heartbeatTicks,
        pendingProposalsMax: options.pendingProposalsMax,
        compactionEntries: options.compactionEntries,
        compactionBytes: options.compactionBytes,
        transferTimeoutMs: options.shutdownTransferTimeoutMs,
        now: nowMs,
        onRaftRefused: (reason) => metrics.raftMessageRefused(reason),
      });
      started.push(host);
      const lockLogger = componentLogger(logger, "lock");
      logTableLimitsAtStart(lockLogger, table);
      const limitsLog = new LimitsChangeLog({
        logger: lockLogger,
        loaded: table.tableLimits.limits,
        replayThroughIndex: host.status().commit,
      });
      host.onApply((entries, results) => limitsLog.onApplied(entries, results));
      host.onSnapshotInstalled((index) =>
        limitsLog.snapshotInstalled(index, table.tableLimits.limits),
      );
      // Registered before the first Ready (the host processes on a later macrotask).
      host.onMembersChange((members) => directory.membersApplied(members));
      host.onConfChangeAppended((change) => directory.changeAppended(change));
      host.onDepartingChange((ids) => directory.departingChanged(ids));
      // The catch-up target is the commit known when the leader is seen, not at the first /readyz.
      const readiness = new ReadinessTracker();
      host.onRoleChange((change) =>
        readiness.leaderSeen({
          leader: change.leader,
          term: change.term,
          commitIndex: host.status().commit,
        }),
      );
      const peerTransport = transport;

      const addressBook: MemberAddresses = {
        peerAddress: (id: NodeId) => directory.addressOf(id) ?? undefined,
        clientAddress: (id: NodeId) =>
          id === options.id ? options.advertisedClientAddress : peerTransport.clientAddressOf(id),
        connected: (id: NodeId) => {
          const link = peerTransport.stats()[id];
          return link !== undefined && (link.state === "open" || link.inboundConnected);
        },
      };
      // Subscribes to the host before the first election can finish (ticks are asynchronous).
      const service = new LockService({
        host,
        table,
        leases: new LeaseManager(),
        nowMs,
        clientAddressOf: addressBook.clientAddress,
        // A flood of `status` requests costs one status per event-loop turn, not one each.
        status: oncePerTurn(() => ({
          ...statusResult(host.status(), addressBook),
          tableLimits: tableLimitsStatus(table),
        })),
        watch: { historyEventsMax: options.watchHistoryEventsMax },
      });

      metrics.primitives.setSource(() => table.primitiveGauges());
      host.onApply((_entries, results) => metrics.primitives.observe(results));

      const membership = new MembershipService({
        host,
        peerAddressOf: (id) => directory.addressOf(id),
        clientAddressOf: addressBook.clientAddress,
        reachableWithinMs: options.electionTimeoutMs,
        dialed: (id) => peerTransport.stats()[id]?.state === "open",
      });
      const services: ClientRequestHandler = {
        handle: (request, context) =>
          isMembershipRequest(request)
            ? membership.handle(request)
            : service.handle(request, context),
        connectionClosed: (connectionId) => service.connectionClosed(connectionId),
      };
      const handler = new AuthorizingHandler({
        inner: services,
        table,
        logger: authLogger,
      });

      const clientServer = new ClientServer({
        nodeId: options.id,
        clusterId: options.clusterId,
        listen: options.clientListen,
        handler,
        connectionsMax: options.clientConnectionsMax,
        connectionsPerSourceMax: options.clientConnectionsPerSourceMax,
        handshakeTimeoutMs: options.clientHandshakeTimeoutMs,
        idleTimeoutMs: options.clientIdleTimeoutMs,
        replyBacklogBytesMax: options.clientReplyBacklogBytesMax,
        serverReplyBacklogBytesMax: options.clientReplyBacklogTotalBytesMax,
        stuckTimeoutMs: options.clientStuckTimeoutMs,
        connectionRequestsPerSecond: options.clientRequestsPerSecond,
        connectionRequestBurst: options.clientRequestBurst,
        connectionInFlightRequestsMax: options.requestsPerConnectionMax,
        frameBytesMax: options.clientFrameBytesMax,
        durationLimits: table,
        ...(authenticator === null
          ? {}
          : { authenticate: (credentials) => authenticator.authenticate(credentials) }),
        ...(tls === null ? {} : { tls, clientCertificates: options.tlsClientAuth }),
        nowMs,
        logger: componentLogger(logger, "client"),
        metrics,
      });
      await clientServer.start();
      started.push(clientServer);

      lag.start();
      started.push({ stop: async () => lag.stop() });
      const snapshot = (): NodeStatusSnapshot => ({
        ...nodeStatusSnapshot(host.status(), addressBook),
        eventLoopLag: lag.snapshot(),
        tableLimits: tableLimitsStatus(table),
      });
      metrics.setStatusSource(snapshot);
      metrics.setWatchSource(() => ({
        watchers: service.watches.watchersCount,
        eventsSent: service.watches.eventsSent,
        historyEvents: service.watches.historySize,
        leaderships: service.watches.leaderships,
      }));
      let admin: AdminServer | null = null;
      if (options.httpListen !== null) {
        const http = parseHostPort(options.httpListen, "httpListen", {
          portZero: true,
          hostEmpty: true,
        });
        admin = new AdminServer({
          provider: { status: snapshot, checkStorageWritable: () => host.checkStorageWritable() },
          readiness,
          metrics,
          host: http.host,
          port: http.port,
          connectionsMax: options.adminConnectionsMax,
          requestsMax: options.adminRequestsMax,
          ...(tls !== null && options.adminTls ? { tls } : {}),
          snapshot: snapshotSource({
            clusterId: options.clusterId,
            nodeId: options.id,
            authenticator,
            host,
            storage,
            logger: componentLogger(logger, "admin"),
          }),
          logger: componentLogger(logger, "admin"),
        });
        await admin.start();
      }

      const server = new DlockServer({
        options,
        logger,
        host,
        transport: peerTransport,
        service,
        clientServer,
        admin,
        addressBook,
        lag,
        table,
        authenticator,
      });
      const addresses = server.addresses();
      logger.info(
        {
          ...addresses,
          dataDir: options.dataDir,
          clusterId: options.clusterId,
          fsync: options.fsync,
          tls: tls !== null,
        },
        "dlock server started",
      );
      return server;
    } catch (error) {
      for (const part of started.reverse()) await part.stop().catch(() => {});
      if (!started.some((part) => part instanceof RaftHost)) await storage.close().catch(() => {});
      throw error;
    }
  }

  /** The bound addresses (ports resolved when 0 was asked for). */
  addresses(): DlockServerAddresses {
    const admin = this.admin?.address();
    return {
      client: formatHostPort(this.clientServer.address()),
      peer: formatHostPort(this.transport.address()),
      http: admin === undefined ? null : formatHostPort(admin),
    };
  }

  /**
   * Re-reads the TLS files (certificate rotation, SIGHUP) and uses them for new connections on
   * every port; open connections keep theirs. A file that does not load keeps the old certificate
   * and the error says why. False when the server runs without TLS.
   */
  async reloadTls(): Promise<boolean> {
    const files = this.options.tlsFiles;
    if (files === null) return false;
    const tls: TlsOptions = await loadTlsFiles(files, this.options.id);
    this.transport.setTls(tls);
    this.clientServer.setTls(tls);
    this.admin?.setTls(tls);
    return true;
  }

  /**
   * Re-reads the auth file (SIGHUP), whole or not at all: a file that does not load (ConfigError
   * naming the file and line) keeps the old one. Open connections are checked again: those whose
   * token or certificate name left the file are closed (UNAUTHENTICATED), the others' next
   * requests use the new grants. Null when the server runs without an auth file.
   */
  async reloadAuth(): Promise<{ principals: number; connectionsClosed: number } | null> {
    if (this.authenticator === null || this.options.authFile === null) return null;
    const entries = await loadAuthFile(this.options.authFile);
    this.authenticator.replace(entries);
    return { principals: entries.length, connectionsClosed: this.clientServer.reauthenticate() };
  }

  status(): HostStatus {
    return this.host.status();
  }

  statusSnapshot(): NodeStatusSnapshot {
    return {
      ...nodeStatusSnapshot(this.host.status(), this.addressBook),
      eventLoopLag: this.lag.snapshot(),
      tableLimits: tableLimitsStatus(this.table),
    };
  }

  /**
   * Graceful shutdown: a leader hands leadership to its most up-to-date follower (bounded by
   * shutdownTransferTimeoutMs) so clients move on at once; then the client port drains, the
   * host flushes its last changes (synced) and every listener closes. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  /**
   * The voters to hand leadership to on shutdown, best first: those whose peer link is up, the
   * ones heard from within an election timeout before the others (a follower that just died or
   * froze may still look connected), then the most up-to-date, then the most recently heard.
   * None when every peer is gone (the whole cluster stopping): waiting on a transfer to a node
   * that cannot answer would only delay the stop.
   */
  private transferTargets(): string[] {
    const status = this.host.status();
    const candidates = status.confState.voters
      .filter((id) => id !== this.options.id && this.addressBook.connected(id))
      .map((id) => {
        const heardMsAgo = status.heardFromMsAgo[id] ?? Number.POSITIVE_INFINITY;
        return {
          id,
          live: heardMsAgo <= this.options.electionTimeoutMs,
          match: status.progress?.[id]?.match ?? 0,
          heardMsAgo,
        };
      });
    candidates.sort(
      (a, b) => Number(b.live) - Number(a.live) || b.match - a.match || a.heardMsAgo - b.heardMsAgo,
    );
    return candidates.map((candidate) => candidate.id);
  }

  /**
   * Hands leadership over before stopping: to the best target, and if that one does not take
   * over (the core gives up after an election timeout), to the next, within the shutdown timeout.
   */
  private async handOver(): Promise<void> {
    const started = performance.now();
    const targets = this.host.status().role === "leader" ? this.transferTargets() : [];
    for (const target of targets) {
      if (!this.host.healthy() || this.host.status().role !== "leader") return;
      if (performance.now() - started >= this.options.shutdownTransferTimeoutMs) break;
      try {
        await this.host.transferLeadership(target);
        this.logger.info({ target }, "leadership handed over before shutdown");
        return;
      } catch (error) {
        this.logger.warn({ err: error, target }, "leadership transfer before shutdown failed");
      }
    }
    if (targets.length > 0 && this.host.status().role === "leader") {
      this.logger.warn("no follower took leadership over; the others will elect after a timeout");
    }
  }

  private async stopNow(): Promise<void> {
    const started = performance.now();
    await this.handOver();
    this.service.stop();
    await this.clientServer.stop();
    await this.admin?.stop();
    await this.host.stop();
    await this.transport.stop();
    this.lag.stop();
    this.logger.info(
      { durationMs: Math.round(performance.now() - started) },
      "dlock server stopped",
    );
  }
}

function isMembershipRequest(request: { type: string }): request is MembershipRequest {
  return (
    request.type === "members" ||
    request.type === "addMember" ||
    request.type === "promoteMember" ||
    request.type === "removeMember"
  );
}
