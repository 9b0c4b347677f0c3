// Parsing of flag values shared by several commands (lists, durations, counts, booleans).
import { parseDuration } from "@dlock/client";
import { CliExit, EXIT } from "./exit-codes.js";

/** "n1=host1:7101,n2=host2:7101" → { n1: "host1:7101", n2: "host2:7101" }. */
export function parseClusterList(flag: string, list: string): Record<string, string> {
  const members: Record<string, string> = {};
  for (const item of list.split(",").map((part) => part.trim())) {
    if (item === "") continue;
    const at = item.indexOf("=");
    if (at <= 0 || at === item.length - 1) {
      throw new CliExit(EXIT.USAGE, `${flag}: "${item}" must look like id=host:port`);
    }
    const id = item.slice(0, at);
    if (id in members) throw new CliExit(EXIT.USAGE, `${flag}: member "${id}" appears twice`);
    members[id] = item.slice(at + 1);
  }
  if (Object.keys(members).length === 0) {
    throw new CliExit(EXIT.USAGE, `${flag}: needs at least one id=host:port`);
  }
  return members;
}

/** "a:1, b:2" → ["a:1", "b:2"]. */
export function parseEndpointList(list: string): string[] {
  return list
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/** A duration flag ("500ms", "10s", "1m") in milliseconds; a usage error naming `flag` otherwise. */
export function parseDurationFlag(flag: string, value: string): number {
  try {
    return parseDuration(value, flag);
  } catch (error) {
    throw new CliExit(EXIT.USAGE, (error as Error).message);
  }
}

/** A whole-number flag in [0, max]; a usage error naming `flag` otherwise. */
export function parseCountFlag(flag: string, value: string, max: number): number {
  const text = value.trim();
  if (!/^\d+$/.test(text) || Number(text) > max) {
    throw new CliExit(EXIT.USAGE, `${flag}: "${value}" is not a whole number between 0 and ${max}`);
  }
  return Number(text);
}

const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["", "0", "false", "no", "off"]);

/** A boolean environment variable: 1/true/yes/on or 0/false/no/off (or empty). */
export function parseBooleanEnvironment(name: string, value: string): boolean {
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new CliExit(EXIT.USAGE, `${name}: "${value}" is not a boolean (use 1/true or 0/false)`);
}
