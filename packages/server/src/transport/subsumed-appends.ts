// Drops an empty append that a later append in the same flush makes redundant. The host holds
// empty appends (a new commit index, a loss check) until entries go to that peer (design §3.4), so
// under load nearly every frame carried one right before the append with the next entries, after
// the same (prevIndex, prevTerm): the follower ran the same log check twice and answered twice,
// and the leader handled both answers. The later append does all the empty one did — the same
// check, a commit index at least as high, and an answer that acknowledges at least as much — so
// sending it alone changes nothing but the work. Raft already tolerates any message not arriving.
import type { AppendRequest, Message } from "@dlock/raft";

/** `later` does everything `empty` would: same leader term and log position, no lower commit. */
function subsumes(later: AppendRequest, empty: AppendRequest): boolean {
  return (
    later.term === empty.term &&
    later.prevIndex === empty.prevIndex &&
    later.prevTerm === empty.prevTerm &&
    later.commit >= empty.commit
  );
}

/**
 * The messages for one peer, in order, less each empty append whose next append (the next one in
 * the queue, whatever lies between) subsumes it. Returns `messages` itself when nothing is dropped.
 */
export function dropSubsumedAppends(messages: Message[]): Message[] {
  let dropped: Set<number> | null = null;
  /** The last append seen, and where it is. */
  let previous: AppendRequest | null = null;
  let previousAt = -1;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.type !== "append") continue;
    if (previous !== null && previous.entries.length === 0 && subsumes(message, previous)) {
      (dropped ??= new Set()).add(previousAt);
    }
    previous = message;
    previousAt = i;
  }
  if (dropped === null) return messages;
  const kept = dropped;
  return messages.filter((_, i) => !kept.has(i));
}
