// Leaves out of a flush the Raft messages that a later one to the same peer makes redundant.
//
// An empty append followed by an append after the same (prevIndex, prevTerm): the host holds
// empty appends (a new commit index, a loss check) until entries go to that peer (design §3.4), so
// under load nearly every frame carried one right before the next entries: the follower ran the
// same log check twice and answered twice. The later append does all the empty one did: the same
// check, a commit index at least as high, an answer that acknowledges at least as much.
//
// An acknowledgment followed by a higher one: a follower answers each append it persisted, and one
// fsync often persists several, so its frames carried runs of acknowledgments the leader handled
// one by one. The leader only ever advances a follower's match and frees its window up to the
// acknowledged index, so the highest does all the others did. Rejections are always sent, and
// nothing is left out across one.
//
// Raft already tolerates any message not arriving; these are left out only where a later message
// in the same frame carries everything they would.
import type { AppendRequest, AppendResponse, Message } from "@dlock/raft";

/** `later` does everything the empty append `empty` would: same leader term and log position, no lower commit. */
function appendSubsumes(later: AppendRequest, empty: AppendRequest): boolean {
  return (
    later.term === empty.term &&
    later.prevIndex === empty.prevIndex &&
    later.prevTerm === empty.prevTerm &&
    later.commit >= empty.commit
  );
}

/** The acknowledgment `later` acknowledges everything `earlier` does, in the same term. */
function ackSubsumes(later: AppendResponse, earlier: AppendResponse): boolean {
  return later.term === earlier.term && later.index >= earlier.index;
}

/**
 * The messages for one peer, in order, less each empty append whose next append subsumes it and
 * each acknowledgment whose next acknowledgment subsumes it (whatever lies between, except a
 * rejection). Returns `messages` itself when nothing is left out.
 */
export function dropSubsumedMessages(messages: Message[]): Message[] {
  let dropped: Set<number> | null = null;
  let append: AppendRequest | null = null;
  let appendAt = -1;
  let ack: AppendResponse | null = null;
  let ackAt = -1;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.type === "append") {
      if (append !== null && append.entries.length === 0 && appendSubsumes(message, append)) {
        (dropped ??= new Set()).add(appendAt);
      }
      append = message;
      appendAt = i;
    } else if (message.type === "appendResp") {
      if (message.reject) {
        ack = null;
        continue;
      }
      if (ack !== null && ackSubsumes(message, ack)) (dropped ??= new Set()).add(ackAt);
      ack = message;
      ackAt = i;
    }
  }
  if (dropped === null) return messages;
  const left = dropped;
  return messages.filter((_, i) => !left.has(i));
}
