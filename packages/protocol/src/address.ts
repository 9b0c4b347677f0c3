// The one "host:port" parser: server listen and peer addresses, client endpoints, and the peer
// address a membership request carries.
import { ConfigError } from "./config-error.js";

export interface HostPort {
  host: string;
  port: number;
}

export interface HostPortRules {
  /** Port 0 ("pick a free port"): listen addresses only. Default false. */
  portZero?: boolean;
  /** An empty host (":7001", every interface): listen addresses only. Default false. */
  hostEmpty?: boolean;
}

/** Longest address accepted: a 253-character DNS name, brackets, a colon and a port, with margin. */
export const ADDRESS_CHARS_MAX = 300;

// A DNS name or IPv4 address, or an IPv6 address (optionally with a zone) in brackets.
const HOST_PORT = /^(?:\[([0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?)\]|([\w.-]*)):(\d{1,5})$/;

/**
 * Parses "host:port" or "[v6]:port" (or checks a { host, port } given by code the same way).
 * Throws ConfigError naming `option` when the text is not an address, an unbracketed IPv6 address
 * is given, or the port is out of range.
 */
export function parseHostPort(value: unknown, option: string, rules: HostPortRules = {}): HostPort {
  if (isHostPortObject(value)) return parseHostPort(formatHostPort(value), option, rules);
  if (typeof value !== "string") {
    throw new ConfigError(option, `must be a "host:port" string, got ${typeof value}`);
  }
  const match = value.length <= ADDRESS_CHARS_MAX ? HOST_PORT.exec(value) : null;
  const host = match === null ? "" : (match[1] ?? match[2] ?? "");
  if (match === null || (host === "" && rules.hostEmpty !== true)) {
    const shown = value.length <= 80 ? value : `${value.slice(0, 80)}…`;
    throw new ConfigError(
      option,
      `"${shown}" is not a host:port (e.g. 10.0.0.1:7001, db.example:7001, [::1]:7001)`,
    );
  }
  const port = Number(match[3]);
  const portMin = rules.portZero === true ? 0 : 1;
  if (port < portMin || port > 65_535) {
    throw new ConfigError(
      option,
      `port ${match[3]} in "${value}" is out of range ${portMin}..65535`,
    );
  }
  return { host, port };
}

function isHostPortObject(value: unknown): value is HostPort {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as HostPort).host === "string" &&
    typeof (value as HostPort).port === "number"
  );
}

/** The inverse of parseHostPort: IPv6 hosts go back into brackets. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", ""]);

/** A listen host meaning "every interface": not an address another machine can dial. */
export function isWildcardHost(host: string): boolean {
  return WILDCARD_HOSTS.has(host);
}

/** Loopback hosts: a listener there is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const lower = host.toLowerCase();
  return (
    lower === "localhost" ||
    lower === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(lower) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(lower)
  );
}
