import pino from "pino";
import type { DestinationStream, Logger } from "pino";
import type { LogLevel } from "./server-options.js";

export type { Logger };

export interface LoggerOptions {
  level: LogLevel;
  /** Added to every line as `node`. */
  nodeId?: string;
  /** Where JSON lines go; stdout by default (sonic-boom, asynchronous). */
  destination?: DestinationStream;
}

/**
 * One JSON-lines logger per process, passed down explicitly (never a global). Components take a
 * child: `componentLogger(logger, "storage")`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const base = options.nodeId === undefined ? {} : { node: options.nodeId };
  return pino({ level: options.level, base }, options.destination ?? pino.destination(1));
}

export function componentLogger(logger: Logger, component: string): Logger {
  return logger.child({ component });
}
