// Packs Raft messages into as few frames as fit under frameBytesMax. The common case is one frame
// per flush; a batch that is too large is split in halves until each part fits, and a single
// message that cannot fit alone (a misconfigured snapshot chunk size) is reported, not sent.
import type { Message } from "@dlock/raft";
import { FrameTooLargeError } from "@dlock/protocol";
import type { FrameEncoder, RaftBatchFrame } from "@dlock/protocol";

export interface EncodedBatch {
  frame: Buffer;
  messageCount: number;
}

export function encodeRaftBatches(
  encoder: FrameEncoder,
  messages: Message[],
  onUnsendable: (message: Message, error: FrameTooLargeError) => void,
  out: EncodedBatch[] = [],
): EncodedBatch[] {
  if (messages.length === 0) return out;
  const batch: RaftBatchFrame = { type: "raft", messages };
  try {
    out.push({ frame: encoder.encode(batch), messageCount: messages.length });
  } catch (error) {
    if (!(error instanceof FrameTooLargeError)) throw error;
    if (messages.length === 1) {
      onUnsendable(messages[0]!, error);
      return out;
    }
    const middle = messages.length >>> 1;
    encodeRaftBatches(encoder, messages.slice(0, middle), onUnsendable, out);
    encodeRaftBatches(encoder, messages.slice(middle), onUnsendable, out);
  }
  return out;
}
