import { MemoryStorage, RawNode } from "../../src/index.js";
import type { ConfState, Entry, Message, NodeId, RaftConfig, Ready } from "../../src/index.js";
import type { PlantedBugs } from "../../src/internal.js";
import { withPlantedBugs } from "../../src/internal.js";

/** A small seeded PRNG (mulberry32) so every test run is reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TestNode {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  /** Every entry this node applied, in order. */
  applied: Entry[];
  /** Snapshots this node installed from a Ready. */
  installedSnapshots: number[];
  readStates: { requestId: number; index: number }[];
  droppedReads: number[];
}

/** Config a test overrides, and the bugs it plants (through the internal entry, as testkit does). */
export type NodeOverrides = Partial<Omit<RaftConfig, "id">> & { plantedBugs?: PlantedBugs };

/**
 * A tiny deterministic network for tests: nodes exchange messages only when told to deliver, and
 * links can be cut. Each node's Ready is persisted to its MemoryStorage, then sent, then advanced
 * (the simple synchronous host).
 */
export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent and not yet delivered, in send order. */
  inflight: Message[] = [];
  private readonly cut = new Set<string>();
  private readonly seed: number;

  constructor(
    ids: NodeId[],
    options: { seed?: number; config?: NodeOverrides; conf?: ConfState } = {},
  ) {
    this.seed = options.seed ?? 1;
    const conf = options.conf ?? { voters: ids, learners: [] };
    for (const id of ids) this.add(id, conf, options.config ?? {});
  }

  /** Adds a node with its own fresh storage (bootstrapped with `conf`). */
  add(id: NodeId, conf: ConfState, config: NodeOverrides = {}): TestNode {
    const storage = new MemoryStorage(conf);
    return this.start(id, storage, config);
  }

  /** (Re)starts a node from `storage`, as after a crash. */
  start(
    id: NodeId,
    storage: MemoryStorage,
    config: NodeOverrides = {},
    appliedIndex = 0,
  ): TestNode {
    const index = [...this.nodes.keys()].indexOf(id);
    const { plantedBugs, ...overrides } = config;
    const node = new RawNode(
      withPlantedBugs(
        {
          id,
          random: seededRandom(this.seed * 1000 + (index < 0 ? this.nodes.size : index) + 1),
          electionTicks: 10,
          heartbeatTicks: 1,
          applied: appliedIndex,
          ...overrides,
        },
        plantedBugs,
      ),
      storage,
    );
    const entry: TestNode = {
      id,
      node,
      storage,
      applied: this.nodes.get(id)?.applied ?? [],
      installedSnapshots: [],
      readStates: [],
      droppedReads: [],
    };
    this.nodes.set(id, entry);
    return entry;
  }

  get(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Cuts both directions between a and b. */
  partition(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  /** Cuts one node off from everyone. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.partition(id, other);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Handles every pending Ready of one node: persist, send, advance, apply. */
  drain(id: NodeId): void {
    const t = this.get(id);
    for (let round = 0; round < 100 && t.node.hasReady(); round++) {
      const ready = t.node.ready();
      this.handleReady(t, ready);
    }
  }

  handleReady(t: TestNode, ready: Ready): void {
    this.inflight.push(...ready.messages);
    t.storage.persist(ready);
    this.inflight.push(...ready.messagesAfterPersist);
    t.node.advance(ready);
    if (ready.snapshot !== undefined) t.installedSnapshots.push(ready.snapshot.metadata.index);
    for (const entry of ready.committedEntries) t.applied.push(entry);
    const last = ready.committedEntries.at(-1)?.index ?? ready.snapshot?.metadata.index;
    if (last !== undefined) t.node.appliedTo(last);
    t.readStates.push(...ready.readStates);
    t.droppedReads.push(...ready.droppedReads);
  }

  drainAll(): void {
    for (const id of this.nodes.keys()) this.drain(id);
  }

  /** Delivers the messages currently in flight (not those they cause); returns how many. */
  deliverOnce(
    filter: (m: Message) => boolean = () => true,
    rewrite?: (m: Message) => Message,
  ): number {
    const batch = this.inflight;
    this.inflight = [];
    let delivered = 0;
    for (const original of batch) {
      const m = rewrite === undefined ? original : rewrite(original);
      if (this.cut.has(`${m.from}>${m.to}`) || !filter(m)) continue;
      const target = this.nodes.get(m.to);
      if (target === undefined) continue;
      target.node.step(m);
      delivered++;
    }
    return delivered;
  }

  /** Drains and delivers until nothing moves. Dropped messages (cut links, filter) are lost. */
  stabilize(filter?: (m: Message) => boolean, rewrite?: (m: Message) => Message): void {
    for (let round = 0; round < 1000; round++) {
      this.drainAll();
      if (this.inflight.length === 0) return;
      this.deliverOnce(filter, rewrite);
    }
    throw new Error("network did not stabilize within 1000 rounds");
  }

  tick(id: NodeId, ticks = 1): void {
    for (let i = 0; i < ticks; i++) this.get(id).node.tick();
  }

  /** Ticks every node once, then stabilizes; repeated `ticks` times. */
  tickAll(
    ticks: number,
    filter?: (m: Message) => boolean,
    rewrite?: (m: Message) => Message,
  ): void {
    for (let i = 0; i < ticks; i++) {
      for (const t of this.nodes.values()) t.node.tick();
      this.stabilize(filter, rewrite);
    }
  }

  /** Makes `id` campaign and runs the election to completion. */
  elect(id: NodeId): void {
    this.get(id).node.campaign();
    this.stabilize();
  }

  /** Ids of nodes that believe they lead, with their terms. */
  leaders(): { id: NodeId; term: number }[] {
    const result: { id: NodeId; term: number }[] = [];
    for (const t of this.nodes.values()) {
      const status = t.node.status();
      if (status.role === "leader") result.push({ id: t.id, term: status.term });
    }
    return result;
  }

  /** The leader of the highest term, or null. */
  leader(): NodeId | null {
    const leaders = this.leaders().sort((a, b) => b.term - a.term);
    return leaders[0]?.id ?? null;
  }

  /** Proposes on `id` and stabilizes; returns the proposal's index. */
  propose(id: NodeId, text: string): number {
    const { index } = this.get(id).node.propose(new TextEncoder().encode(text));
    this.stabilize();
    return index;
  }

  /** The data of normal entries a node applied, decoded. */
  appliedData(id: NodeId): string[] {
    const decoder = new TextDecoder();
    return this.get(id)
      .applied.filter((e) => e.kind === "normal")
      .map((e) => decoder.decode(e.data));
  }

  /** (index, term) pairs of a node's whole stored log after its snapshot. */
  logTerms(id: NodeId): number[] {
    const s = this.get(id).storage;
    const terms: number[] = [];
    for (let i = s.firstIndex(); i <= s.lastIndex(); i++) terms.push(s.term(i));
    return terms;
  }
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A storage that already holds a log whose entry i+1 has term terms[i] (Figure 7/8 setups). */
export function storageWithLog(
  voters: NodeId[],
  terms: number[],
  hardState: { term: number; vote?: NodeId | null },
  payloadBytes: (index: number) => number = () => 1,
): MemoryStorage {
  const storage = new MemoryStorage({ voters, learners: [] });
  storage.append(
    terms.map((term, i) => ({
      index: i + 1,
      term,
      kind: "normal" as const,
      data: new Uint8Array(payloadBytes(i + 1)).fill(term),
    })),
  );
  storage.setHardState({ term: hardState.term, vote: hardState.vote ?? null, commit: 0 });
  return storage;
}
