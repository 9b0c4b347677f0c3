// Throughput of the core alone: three RawNodes over MemoryStorage, messages delivered in memory,
// every Ready persisted, sent and advanced synchronously. This measures the CPU cost of the core
// (and MemoryStorage) per proposal; no disk, no network. Run:
//   npx vitest bench --run packages/raft
import { bench, describe } from "vitest";
import { MemoryStorage, RawNode } from "../../src/index.js";
import type { Message } from "../../src/index.js";

function cluster() {
  const ids = ["n1", "n2", "n3"];
  const nodes = new Map(
    ids.map((id) => {
      const storage = new MemoryStorage({ voters: ids, learners: [] });
      let seed = id.charCodeAt(1);
      const random = () => ((seed = (seed * 16807) % 2147483647) % 1000) / 1000;
      return [id, { node: new RawNode({ id, random }, storage), storage }];
    }),
  );
  let inflight: Message[] = [];
  const pump = (): void => {
    for (let round = 0; round < 100; round++) {
      for (const { node, storage } of nodes.values()) {
        while (node.hasReady()) {
          const ready = node.ready();
          for (const m of ready.messages) inflight.push(m);
          storage.persist(ready);
          for (const m of ready.messagesAfterPersist) inflight.push(m);
          node.advance(ready);
          const last = ready.committedEntries.at(-1);
          if (last !== undefined) node.appliedTo(last.index);
        }
      }
      if (inflight.length === 0) return;
      const batch = inflight;
      inflight = [];
      for (const m of batch) nodes.get(m.to)!.node.step(m);
    }
  };
  nodes.get("n1")!.node.campaign();
  pump();
  return { leader: nodes.get("n1")!.node, pump, nodes };
}

describe("3-node in-memory cluster", () => {
  const payload = new Uint8Array(64);
  for (const batch of [1, 100]) {
    const c = cluster();
    bench(`propose+commit, ${batch} proposal(s) per round`, () => {
      for (let i = 0; i < batch; i++) c.leader.propose(payload);
      c.pump();
      for (const { storage } of c.nodes.values()) {
        // Keep memory bounded the way a host would: snapshot and compact now and then.
        if (storage.lastIndex() - storage.firstIndex() > 20_000) {
          const snapshotIndex = storage.lastIndex() - 1000;
          storage.createSnapshot(
            snapshotIndex,
            { voters: ["n1", "n2", "n3"], learners: [] },
            payload,
          );
          storage.compact(snapshotIndex);
        }
      }
    });
  }
});
