import { entriesBytes } from "../../src/entry-size.js";
import type { Message, NodeId } from "../../src/index.js";
import type { Network } from "./network.js";

/** Fixed per-message cost on the modelled link, so empty appends and heartbeats are not free. */
const MESSAGE_OVERHEAD_BYTES = 64;

export interface SlowLinkOptions {
  /** The leader → follower link under test. */
  from: NodeId;
  to: NodeId;
  /** Bytes the link carries per tick (FIFO, like one TCP connection). */
  linkBytesPerTick: number;
  /** Ticks the follower's disk takes before its append acknowledgements leave. */
  persistDelayTicks: number;
  /**
   * Bytes the link may hold unsent; beyond it the connection is presumed stalled and reset, losing
   * everything queued (as the host's WRITE_STALLED).
   */
  queueBytesMax: number;
}

/**
 * Drives a Network in virtual time with one slow leader → follower link: messages on it queue
 * (heartbeats behind appends, as on one connection) and drain at linkBytesPerTick, and the
 * follower's append acknowledgements wait persistDelayTicks (a slow disk) while its heartbeat
 * answers leave at once, as in the real host. Everything else is delivered within the tick.
 * Counts the entry bytes the leader put on the link.
 */
export class SlowLink {
  /** Entry payload bytes of every append the leader sent on the link. */
  entryBytesSent = 0;
  appendsSent = 0;
  /** Times the link reset because too much queued up. */
  resets = 0;
  private now = 0;
  private credit = 0;
  private queuedBytes = 0;
  private readonly queue: Message[] = [];
  private readonly delayed: { at: number; m: Message }[] = [];

  constructor(
    private readonly net: Network,
    private readonly options: SlowLinkOptions,
  ) {}

  /** One tick of virtual time: every node ticks, then messages move as the link allows. */
  tick(): void {
    this.now++;
    for (const t of this.net.nodes.values()) t.node.tick();
    // A token bucket: a message larger than one tick's bytes leaves once enough credit accrued.
    this.credit = Math.min(
      this.credit + this.options.linkBytesPerTick,
      this.options.linkBytesPerTick,
    );
    for (let round = 0; round < 10_000; round++) {
      this.net.drainAll();
      this.route(this.net.inflight);
      this.net.inflight = [];
      const batch: Message[] = [];
      while (this.delayed.length > 0 && this.delayed[0].at <= this.now) {
        batch.push(this.delayed.shift()!.m);
      }
      while (this.queue.length > 0 && this.credit > 0) {
        const m = this.queue.shift()!;
        this.credit -= sizeOf(m);
        this.queuedBytes -= sizeOf(m);
        batch.push(m);
      }
      batch.push(...this.immediate.splice(0));
      if (batch.length === 0) return;
      for (const m of batch) this.net.get(m.to).node.step(m);
    }
    throw new Error("slow link: the tick did not settle");
  }

  private readonly immediate: Message[] = [];

  private route(messages: Message[]): void {
    const { from, to, persistDelayTicks } = this.options;
    for (const m of messages) {
      if (m.from === from && m.to === to) {
        if (m.type === "append") {
          this.entryBytesSent += entriesBytes(m.entries);
          this.appendsSent++;
        }
        this.queue.push(m);
        this.queuedBytes += sizeOf(m);
        if (this.queuedBytes > this.options.queueBytesMax) {
          this.queue.length = 0;
          this.queuedBytes = 0;
          this.resets++;
        }
      } else if (m.from === to && m.to === from && m.type === "appendResp") {
        this.delayed.push({ at: this.now + persistDelayTicks, m });
      } else {
        this.immediate.push(m);
      }
    }
  }
}

function sizeOf(m: Message): number {
  if (m.type === "append") return MESSAGE_OVERHEAD_BYTES + entriesBytes(m.entries);
  if (m.type === "snapshot") return MESSAGE_OVERHEAD_BYTES + m.data.byteLength;
  return MESSAGE_OVERHEAD_BYTES;
}
