export { DEFAULT_SERVER_OPTIONS, resolveServerOptions } from "./server-options.js";
export type { LogLevel, ResolvedServerOptions, ServerOptions } from "./server-options.js";
export { ConfigError } from "./errors.js";
export { formatHostPort, isWildcardHost, parseHostPort } from "./address.js";
export type { HostPort } from "./address.js";
export { componentLogger, createLogger } from "./logger.js";
export type { Logger, LoggerOptions } from "./logger.js";
