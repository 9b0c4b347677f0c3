/** A server option is missing, malformed or contradicts another; `option` names it. */
export class ConfigError extends Error {
  readonly code = "INVALID_OPTION" as const;
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super(`invalid option ${option}: ${message}`, options);
    this.name = "ConfigError";
    this.option = option;
  }
}
