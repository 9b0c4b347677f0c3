// The exit-code lists that every client command's --help ends with (docs/design.md §1).
import { EXIT } from "./exit-codes.js";

const LINES: Readonly<Record<number, string>> = {
  [EXIT.OK]: "done",
  [EXIT.ERROR]: "error (an unexpected answer or failure; see the message)",
  [EXIT.USAGE]: "usage: bad flags or arguments",
  [EXIT.LOCK_BUSY]: "lock busy: held by someone else, not acquired",
  [EXIT.LOCK_LOST]: "lock lost while the command ran",
  [EXIT.UNAVAILABLE]: "cluster unavailable: no leader answered within --timeout",
  [EXIT.UNAUTHENTICATED]: "unauthenticated: the server refused the auth token or certificate",
  [EXIT.PERMISSION_DENIED]: "permission denied: the credentials do not grant this (on this key)",
};

/** The exit codes of a server with an auth file: refused credentials, a missing grant. */
export const AUTH_EXITS = [EXIT.UNAUTHENTICATED, EXIT.PERMISSION_DENIED] as const;

/** The exit codes of a client command that waits for no lock: done, or why not. */
export const CLIENT_EXITS = [EXIT.OK, EXIT.ERROR, EXIT.USAGE, EXIT.UNAVAILABLE, ...AUTH_EXITS];

/** The exit codes of a command run under a lock, besides the command's own exit status. */
export const LOCKED_RUN_EXITS = [
  EXIT.ERROR,
  EXIT.USAGE,
  EXIT.LOCK_BUSY,
  EXIT.LOCK_LOST,
  EXIT.UNAVAILABLE,
  ...AUTH_EXITS,
];

/** "Exit codes:" followed by one line per code in `codes`, and `extra` lines after them. */
export function exitCodesHelp(codes: readonly number[], extra: readonly string[] = []): string {
  const lines = codes.map((code) => `  ${code}  ${LINES[code]}`);
  return `\nExit codes:\n${[...lines, ...extra.map((line) => `  ${line}`)].join("\n")}\n`;
}

export function examplesHelp(examples: readonly string[]): string {
  return `\nExamples:\n${examples.map((line) => `  $ ${line}`).join("\n")}\n`;
}

/** What a client command's --help ends with: its --json shape, CLIENT_EXITS, its examples. */
export function clientCommandHelp(jsonHelp: string, examples: readonly string[]): string {
  return jsonHelp + exitCodesHelp(CLIENT_EXITS) + examplesHelp(examples);
}
