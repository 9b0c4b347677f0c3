import { ConfigError } from "./errors.js";

export interface HostPort {
  host: string;
  port: number;
}

const WILDCARDS = new Set(["0.0.0.0", "::", ""]);

/** Parses "host:port" or "[v6]:port"; ConfigError naming `option` otherwise. Port 0 = any free port. */
export function parseHostPort(option: string, address: string): HostPort {
  if (typeof address !== "string") throw new ConfigError(option, "must be a string host:port");
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:[\]]*):(\d+)$/.exec(address);
  if (match === null) throw new ConfigError(option, `"${address}" is not host:port`);
  const port = Number(match[2]);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(option, `port ${match[2]} is out of range 0..65535`);
  }
  return { host: match[1], port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export function isWildcardHost(host: string): boolean {
  return WILDCARDS.has(host);
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
