import type { Entry } from "@dlock/raft";
import type { LogView } from "../../src/checkers/violation.js";
import type { ChainedEntry } from "../../src/log-chain.js";
import { CHAIN_ORIGIN, chainAfter } from "../../src/log-chain.js";

/** A hand-made log: terms[i] is the term of entry i + 1; `tag` makes data differ between logs. */
export function makeLog(terms: number[], tag = ""): ChainedEntry[] {
  const log: ChainedEntry[] = [];
  let chain = CHAIN_ORIGIN;
  terms.forEach((term, i) => {
    const entry: Entry = {
      index: i + 1,
      term,
      kind: "normal",
      data: new TextEncoder().encode(`${tag}${i + 1}`),
    };
    chain = chainAfter(chain, entry);
    log.push({ entry, chain });
  });
  return log;
}

/** A LogView of a hand-made log, optionally compacted behind a snapshot at `snapshotIndex`. */
export function viewOf(log: ChainedEntry[], snapshotIndex = 0): LogView {
  return {
    chainAt: (index) => {
      if (index === 0 && snapshotIndex === 0) return CHAIN_ORIGIN;
      if (index < snapshotIndex || index > log.length) return undefined;
      return log[index - 1].chain;
    },
    snapshotIndex: () => snapshotIndex,
  };
}
