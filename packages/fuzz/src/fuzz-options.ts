// Every default of the fuzzer in one place.
import { HANDSHAKE_TIMEOUT_MS_DEFAULT } from "@dlock/protocol";

/** Bytes: the RSS bound, and why it is what it is. */
export const FUZZ_DEFAULTS = {
  /**
   * Raft tick and election timeout of the fuzz cluster: 50 ms × 20 = 1 s, long enough that a
   * loaded 2-core machine does not elect on its own during a batch (a leader change is a finding).
   */
  tickMs: 50,
  electionTicks: 20,
  /**
   * Locks taken before fuzzing that must still be held, with their tokens, after every batch. Their
   * holder renews them after every check (a run may last longer than any TTL: seed 1516237942 of
   * the admin port lost all three to plain expiry an hour in).
   */
  seededLocks: 3,
  seededTtlMs: 600_000,
  /** The normal client's lock after every batch: the TTL floor is 5 election timeouts (5 s). */
  canaryTtlMs: 10_000,
  /** How long the cluster gets to agree on a leader and be ready, before and after a batch. */
  healthyTimeoutMs: 30_000,
  /** Inputs per fast-check run; the cluster checks run after each batch. */
  batchSizeMax: 64,
  /** Connections the fuzzer has open at once within a batch. */
  concurrency: 8,
  /**
   * How long the server has to refuse an intact input's final malformed frame and close: it
   * does so at once, so this only needs to hold on a loaded machine.
   */
  inputTimeoutMs: 5_000,
  /**
   * The same for an input that starts with stray bytes (a prelude): they and the first bytes of
   * the hello may announce a first frame within the handshake frame limit but longer than all
   * that follows, and the server then rightly waits for it until its handshake timeout (5 s on
   * the client port, 3 s on the peer port) before it closes. Seed 862931049 found the fuzzer
   * giving up first.
   */
  preludeInputTimeoutMs: HANDSHAKE_TIMEOUT_MS_DEFAULT + 5_000,
  /**
   * How long the fuzzer stays on a damaged input's connection. The server may rightly wait
   * for the rest of a frame announced longer than what follows it (until its own timeouts):
   * the fuzzer does not wait for that, it hangs up.
   */
  damagedInputDwellMs: 250,
  /**
   * Once a server refused a connection (an error frame), how long it has to close it before the
   * fuzzer says it kept the connection open. It closes at once; the dwell of a damaged input
   * (250 ms) is not a deadline for that on a loaded machine: seed 1188151766 of the mutual-TLS
   * peer test saw the close arrive after it under a CPU hog.
   */
  refusalCloseMsMax: 10_000,
  /**
   * RSS bound per node. A node idles at 65-100 MiB (Node, V8 heap, LevelDB cache) and peaked at
   * 130 MiB under the fuzzer. On top of that the fuzzer can make a node hold, per open
   * connection (at most `concurrency` per port), one frame of at most 4 MiB (FRAME_BYTES_MAX)
   * being assembled plus its decoded form (msgpack expands at most ~10x: 40 MiB), and garbage
   * not collected yet. 768 MiB leaves room for all of it; a leak of 7 KiB per input crosses it
   * within a 100,000-input run.
   */
  rssBytesMax: 768 * 1024 * 1024,
} as const;
