// The one function that resolves and validates a Locker's options, and what the simulator and
// tests inject besides the public ones (reached through @dlock/client/internal only, so that no
// public declaration mentions them).
import {
  AUTH_TOKEN_BYTES_MAX,
  FRAME_BYTES_MAX,
  IN_FLIGHT_REQUESTS_MAX,
  InvalidArgumentError,
  durationMsOption,
  isAuthToken,
  parseHostPort,
  validateId,
} from "@dlock/protocol";
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import { TcpTransport } from "./tcp-transport.js";
import { validateClientTlsOptions } from "./tls-options.js";
import type { Transport } from "./transport.js";
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DRIFT_FACTOR,
  DEFAULT_MARGIN_MS,
  DEFAULT_RECONNECT_DELAY_MS_MAX,
  DEFAULT_RECONNECT_DELAY_MS_MIN,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_UNAVAILABLE_TIMEOUT_MS,
  ENDPOINTS_MAX,
} from "./locker-options.js";
import type { LockerOptions } from "./locker-options.js";

/**
 * Deliberate bugs for the simulator to find (issue 4: planted bugs). Never set them elsewhere.
 */
export interface ClientPlantedBugs {
  /** Do not subtract drift and margin from the validity. */
  ignoreDrift?: boolean;
  /** Start the validity timer when the answer arrives instead of when the request was sent. */
  timerFromReply?: boolean;
  /**
   * observe() watches from the list's revision instead of the one after it, so a change at that
   * revision is reported twice (once by the list, once by the watch).
   */
  observeFromListRevision?: boolean;
  /**
   * observe() reports one change per revision, so when one entry ends a leadership and grants the
   * next campaigner (a handoff), the new leader is never reported.
   */
  observeOneChangePerRevision?: boolean;
}

/**
 * What the simulator and the tests inject besides the public options (from
 * `@dlock/client/internal`, never from the package's main entry): time, connections, randomness
 * and deliberate bugs.
 */
export interface InternalLockerOptions extends LockerOptions {
  /** Monotonic time and timers. Default: performance.now() and Node timers. */
  clock?: Clock;
  /** How connections are made. Default: TCP (with `tls`, TLS); `tls` and `frameBytesMax` apply only to that default. */
  transport?: Transport;
  /** Uniform random in [0, 1) for backoff jitter and the default client id. Default Math.random. */
  random?: () => number;
  plantedBugs?: ClientPlantedBugs;
}

export interface ResolvedLockerOptions {
  endpoints: string[];
  clusterId: string | null;
  clientId: string;
  authToken: string | null;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  unavailableTimeoutMs: number;
  reconnectDelayMsMin: number;
  reconnectDelayMsMax: number;
  driftFactor: number;
  marginMs: number;
  inFlightRequestsMax: number;
  frameBytesMax: number;
  clock: Clock;
  transport: Transport;
  random: () => number;
  plantedBugs: Required<ClientPlantedBugs>;
}

function randomClientId(random: () => number): string {
  let id = "c-";
  for (let i = 0; i < 12; i++) id += Math.floor(random() * 36).toString(36);
  return id;
}

/** Fills defaults and validates. Throws InvalidArgumentError naming the option. */
export function resolveLockerOptions(options: InternalLockerOptions): ResolvedLockerOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidArgumentError("options", "must be an object");
  }
  const { endpoints } = options;
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new InvalidArgumentError("endpoints", "must list at least one host:port");
  }
  if (endpoints.length > ENDPOINTS_MAX) {
    throw new InvalidArgumentError("endpoints", `at most ${ENDPOINTS_MAX} are allowed`);
  }
  for (const endpoint of endpoints) parseHostPort(endpoint, "endpoints");
  const clusterId =
    options.clusterId === undefined || options.clusterId === null
      ? null
      : validateId(options.clusterId, "clusterId");
  const random = options.random ?? Math.random;
  if (typeof random !== "function") throw new InvalidArgumentError("random", "must be a function");
  const clientId =
    options.clientId === undefined
      ? randomClientId(random)
      : validateId(options.clientId, "clientId");
  const authToken = options.authToken ?? null;
  if (authToken !== null && !isAuthToken(authToken)) {
    throw new InvalidArgumentError(
      "authToken",
      `must be a string of 1 to ${AUTH_TOKEN_BYTES_MAX} bytes`,
    );
  }
  const reconnectDelayMsMin = durationMsOption(
    options.reconnectDelayMsMin,
    DEFAULT_RECONNECT_DELAY_MS_MIN,
    "reconnectDelayMsMin",
  );
  const reconnectDelayMsMax = durationMsOption(
    options.reconnectDelayMsMax,
    Math.max(DEFAULT_RECONNECT_DELAY_MS_MAX, reconnectDelayMsMin),
    "reconnectDelayMsMax",
  );
  if (reconnectDelayMsMax < reconnectDelayMsMin) {
    throw new InvalidArgumentError("reconnectDelayMsMax", "must not be below reconnectDelayMsMin");
  }
  const driftFactor = options.driftFactor ?? DEFAULT_DRIFT_FACTOR;
  if (typeof driftFactor !== "number" || !(driftFactor >= 0 && driftFactor < 0.5)) {
    throw new InvalidArgumentError("driftFactor", "must be a number in [0, 0.5)");
  }
  const marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
  if (typeof marginMs !== "number" || !Number.isFinite(marginMs) || marginMs < 0) {
    throw new InvalidArgumentError("marginMs", "must be a non-negative number of milliseconds");
  }
  const inFlightRequestsMax = options.inFlightRequestsMax ?? IN_FLIGHT_REQUESTS_MAX;
  if (
    !Number.isInteger(inFlightRequestsMax) ||
    inFlightRequestsMax < 1 ||
    inFlightRequestsMax > IN_FLIGHT_REQUESTS_MAX
  ) {
    throw new InvalidArgumentError(
      "inFlightRequestsMax",
      `must be a whole number in [1, ${IN_FLIGHT_REQUESTS_MAX}]`,
    );
  }
  const frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX;
  if (!Number.isInteger(frameBytesMax) || frameBytesMax < 1024 || frameBytesMax > FRAME_BYTES_MAX) {
    throw new InvalidArgumentError(
      "frameBytesMax",
      `must be a whole number in [1024, ${FRAME_BYTES_MAX}]`,
    );
  }
  return {
    endpoints: [...endpoints],
    clusterId,
    clientId,
    authToken,
    connectTimeoutMs: durationMsOption(
      options.connectTimeoutMs,
      DEFAULT_CONNECT_TIMEOUT_MS,
      "connectTimeoutMs",
    ),
    requestTimeoutMs: durationMsOption(
      options.requestTimeoutMs,
      DEFAULT_REQUEST_TIMEOUT_MS,
      "requestTimeoutMs",
    ),
    unavailableTimeoutMs: durationMsOption(
      options.unavailableTimeoutMs,
      DEFAULT_UNAVAILABLE_TIMEOUT_MS,
      "unavailableTimeoutMs",
    ),
    reconnectDelayMsMin,
    reconnectDelayMsMax,
    driftFactor,
    marginMs,
    inFlightRequestsMax,
    frameBytesMax,
    clock: options.clock ?? systemClock,
    transport:
      options.transport ??
      new TcpTransport({
        frameBytesMax,
        tls:
          options.tls === undefined || options.tls === null
            ? null
            : validateClientTlsOptions(options.tls),
      }),
    random,
    plantedBugs: {
      ignoreDrift: options.plantedBugs?.ignoreDrift ?? false,
      timerFromReply: options.plantedBugs?.timerFromReply ?? false,
      observeFromListRevision: options.plantedBugs?.observeFromListRevision ?? false,
      observeOneChangePerRevision: options.plantedBugs?.observeOneChangePerRevision ?? false,
    },
  };
}
