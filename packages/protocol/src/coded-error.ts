// The shape every dlock error class shares: an Error with a stable machine-readable `code`.

/** An Error whose `code` is one of a closed set of stable strings (callers branch on it). */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CodedError";
    this.code = code;
  }
}
