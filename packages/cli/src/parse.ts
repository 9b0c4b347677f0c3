// Parsing of list-valued flags shared by several commands.
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
