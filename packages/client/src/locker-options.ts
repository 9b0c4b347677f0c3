// The public options of a Locker (connection, timeouts, validity arithmetic) and their defaults
// in one place. What tests inject besides them, and the function that resolves and validates
// them, live in resolve-locker-options.ts (out of the public declarations).
import type { ClientTlsOptions } from "./tls-options.js";

export interface LockerOptions {
  /** "host:port" of the cluster's client ports; any member will do (the leader is found). */
  endpoints: string[];
  /** Refuse servers of another cluster. Default null: accept whichever cluster answers. */
  clusterId?: string | null;
  /** This client's id in handshakes and acquire request ids. Default: random. */
  clientId?: string;
  /**
   * The auth token (`dlock auth token` makes one) for a server with an auth file. Default: none.
   * Without TLS it crosses the network in clear text: use it on loopback or with TLS only.
   */
  authToken?: string;
  /** TCP connect plus handshake, per endpoint. Default 2 s. */
  connectTimeoutMs?: number;
  /** One attempt of one request (plus `wait` for a queued acquire). Default 5 s. */
  requestTimeoutMs?: number;
  /**
   * How long an operation keeps looking for a leader (following hints, trying endpoints)
   * before failing with ClusterUnavailableError. Default 15 s.
   */
  unavailableTimeoutMs?: number;
  /** Backoff between endpoint attempts: doubles from min up to max, with jitter. */
  reconnectDelayMsMin?: number;
  reconnectDelayMsMax?: number;
  /**
   * Bound on the relative rate difference between this client's clock and any leader's. The
   * client trusts a lease for `ttl × (1 − driftFactor) − marginMs` from sending. Default 0.01.
   */
  driftFactor?: number;
  /** Fixed safety margin subtracted from every validity. Default 5 ms. */
  marginMs?: number;
  /** Requests in flight on the leader connection before new ones are refused. */
  inFlightRequestsMax?: number;
  /** Largest frame accepted from a server. */
  frameBytesMax?: number;
  /** TLS to the cluster: its CA, and a client certificate if it asks for one. Default: none. */
  tls?: ClientTlsOptions | null;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
export const DEFAULT_UNAVAILABLE_TIMEOUT_MS = 15_000;
export const DEFAULT_RECONNECT_DELAY_MS_MIN = 25;
export const DEFAULT_RECONNECT_DELAY_MS_MAX = 1_000;
export const DEFAULT_DRIFT_FACTOR = 0.01;
export const DEFAULT_MARGIN_MS = 5;
/** Most endpoints a locker takes (it tries them in turn). */
export const ENDPOINTS_MAX = 64;
