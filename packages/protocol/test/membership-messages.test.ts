import { describe, expect, it } from "vitest";
import {
  ConfigChangeRefusedError,
  FrameDecoder,
  FrameEncoder,
  InvalidArgumentError,
  errorFromWire,
  errorToWire,
  parseClientRequest,
  parseResult,
} from "../src/index.js";
import type { DlockError } from "../src/index.js";

function overTheWire(error: DlockError): DlockError {
  const frame = new FrameEncoder().encode({ type: "error", id: 1, error: errorToWire(error) });
  let rebuilt: DlockError | undefined;
  new FrameDecoder().push(frame, (body) => {
    rebuilt = errorFromWire((body as { error: unknown }).error);
  });
  return rebuilt!;
}

describe("membership requests, results and refusals", () => {
  it("parses the four requests and names a bad field", () => {
    expect(parseClientRequest({ type: "members", id: 1, extra: true })).toEqual({
      type: "members",
      id: 1,
    });
    expect(
      parseClientRequest({ type: "addMember", id: 2, nodeId: "n4", peerAddress: "[::1]:7104" }),
    ).toEqual({ type: "addMember", id: 2, nodeId: "n4", peerAddress: "[::1]:7104" });
    expect(parseClientRequest({ type: "promoteMember", id: 3, nodeId: "n4" })).toEqual({
      type: "promoteMember",
      id: 3,
      nodeId: "n4",
    });
    expect(parseClientRequest({ type: "removeMember", id: 4, nodeId: "n1" })).toEqual({
      type: "removeMember",
      id: 4,
      nodeId: "n1",
    });
    for (const [body, field] of [
      [{ type: "addMember", id: 5, nodeId: "n4", peerAddress: "host" }, "peerAddress"],
      [{ type: "addMember", id: 5, nodeId: "n4", peerAddress: "host:70000" }, "peerAddress"],
      [{ type: "removeMember", id: 5, nodeId: "" }, "nodeId"],
    ] as const) {
      expect(() => parseClientRequest(body)).toThrowError(
        expect.objectContaining({ code: "INVALID_ARGUMENT", field }),
      );
    }
    expect(() => parseClientRequest({ type: "addMember", id: 5, nodeId: 4 })).toThrowError(
      InvalidArgumentError,
    );
  });

  it("checks the members result", () => {
    const result = {
      leader: "n1",
      term: 3,
      commitIndex: 40,
      members: [
        {
          id: "n1",
          kind: "voter",
          peerAddress: "h:1",
          clientAddress: null,
          matchIndex: 40,
          healthy: true,
        },
      ],
    };
    expect(parseResult("addMember", result)).toEqual(result);
    expect(parseResult("removeMember", { ...result, leader: null }).leader).toBeNull();
    expect(() =>
      parseResult("members", { ...result, members: [{ ...result.members[0], kind: "boss" }] }),
    ).toThrowError(expect.objectContaining({ code: "MALFORMED_FRAME" }));
  });

  it("a refused change crosses the wire typed, with its reason", () => {
    const back = overTheWire(new ConfigChangeRefusedError("notCaughtUp", "n4 is 900 behind"));
    expect(back).toBeInstanceOf(ConfigChangeRefusedError);
    expect(back).toMatchObject({ code: "CONFIG_CHANGE_REFUSED", refusal: "notCaughtUp" });
    expect(back.message).toBe("n4 is 900 behind");
    const unknown = errorFromWire({ code: "CONFIG_CHANGE_REFUSED", message: "x", refusal: "?" });
    expect(unknown).toMatchObject({ refusal: "invalid" });
  });
});
