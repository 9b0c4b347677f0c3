import { InvalidArgumentError } from "./errors.js";

/**
 * An option is missing, malformed or contradicts another; `option` names it (a server option such
 * as "peers.n1" or "ttlMsMin", a client option such as "endpoints"). The one error class for bad
 * configuration on either side. It is an InvalidArgumentError (`field` is the same name), so
 * client code that catches InvalidArgumentError keeps working, and it can be answered on the wire.
 */
export class ConfigError extends InvalidArgumentError {
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super(option, message, options);
    this.name = "ConfigError";
    this.option = option;
  }
}
