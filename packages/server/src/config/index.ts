export { DEFAULT_SERVER_OPTIONS, resolveServerOptions } from "./server-options.js";
export type { LogLevel, ResolvedServerOptions, ServerOptions } from "./server-options.js";
// The config error and the address parser live in @dlock/protocol (the client uses them too).
export { ConfigError, formatHostPort, isWildcardHost, parseHostPort } from "@dlock/protocol";
export type { HostPort } from "@dlock/protocol";
export { componentLogger, createLogger } from "./logger.js";
export type { Logger, LoggerOptions } from "./logger.js";
