import { InvalidArgumentError } from "@dlock/protocol";

export interface HostPort {
  host: string;
  port: number;
}

/** Parses "host:port" (or "[v6]:port") into its parts; throws InvalidArgumentError naming `field`. */
export function parseEndpoint(endpoint: unknown, field = "endpoints"): HostPort {
  if (typeof endpoint !== "string" || endpoint.length === 0 || endpoint.length > 300) {
    throw new InvalidArgumentError(field, `"${String(endpoint)}" is not a host:port address`);
  }
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(endpoint.trim());
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65_535) {
    throw new InvalidArgumentError(field, `"${endpoint}" is not a host:port address`);
  }
  return { host: match[1] ?? match[2], port };
}
