// "host:port" parsing for peer and client addresses, including bracketed IPv6 ("[::1]:7101").

export interface HostPort {
  host: string;
  port: number;
}

export class AddressError extends Error {
  readonly code = "INVALID_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = "AddressError";
  }
}

/** Parses "host:port"; port 0 ("pick a free port") only when `allowPortZero` (listen addresses). */
export function parseHostPort(address: string, allowPortZero = false): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  if (!match) throw new AddressError(`address must be host:port, got "${address}"`);
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (port > 65_535 || (port === 0 && !allowPortZero))
    throw new AddressError(`port out of range in "${address}"`);
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
