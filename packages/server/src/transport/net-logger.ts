/**
 * The logging surface the network components use: a structural subset of pino's Logger, so the
 * host passes its pino child logger as is and tests pass a recorder.
 */
export interface NetLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const SILENT_NET_LOGGER: NetLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
