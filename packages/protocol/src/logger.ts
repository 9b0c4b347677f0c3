/**
 * The one logging surface every component takes: structured fields first, then the message. It is
 * a structural subset of pino's Logger, so the server passes its pino (child) logger as is and
 * tests pass a recorder.
 */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Drops everything: the default where no logger is given. */
export const SILENT_LOGGER: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
