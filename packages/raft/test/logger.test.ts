import { describe, expect, it } from "vitest";
import type { RaftLogger } from "../src/index.js";
import { Network } from "./helpers/network.js";

describe("RaftLogger", () => {
  it("takes fields first, then the message, like the hosts' (pino) loggers", () => {
    const lines: [level: string, fields: object, message: string][] = [];
    const logger: RaftLogger = {
      debug: (fields, message) => lines.push(["debug", fields, message]),
      info: (fields, message) => lines.push(["info", fields, message]),
      warn: (fields, message) => lines.push(["warn", fields, message]),
    };
    const net = new Network(["n1"], { config: { logger } });
    net.elect("n1");
    expect(lines).toContainEqual(["info", { id: "n1", term: 1 }, "became leader"]);
    expect(lines).toContainEqual(["debug", { id: "n1", term: 1 }, "became candidate"]);
  });
});
