import { describe, expect, it } from "vitest";
import type { HelloFrame } from "../src/index.js";
import {
  AUTH_TOKEN_BYTES_MAX,
  HandshakeFailedError,
  PROTOCOL_VERSION,
  PROTOCOL_VERSIONS,
  checkHello,
  helloVersionFields,
  negotiateProtocolVersion,
  parseHello,
} from "../src/index.js";

const clientHello: HelloFrame = {
  type: "hello",
  protocolVersion: PROTOCOL_VERSION,
  clusterId: "c1",
  role: "client",
  clientId: "app-1",
};
const peerHello: HelloFrame = {
  type: "hello",
  protocolVersion: PROTOCOL_VERSION,
  clusterId: "c1",
  role: "peer",
  nodeId: "n2",
};

describe("handshake", () => {
  it("parses a hello and refuses anything else as malformed", () => {
    expect(parseHello({ ...clientHello, junk: 1 })).toEqual(clientHello);
    for (const body of [
      null,
      { type: "get" },
      { ...clientHello, role: "admin" },
      { ...clientHello, protocolVersion: "1" },
    ]) {
      try {
        parseHello(body);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(HandshakeFailedError);
        expect((error as HandshakeFailedError).reason).toBe("malformed");
      }
    }
  });

  it("carries a client's auth token, refusing an empty or over-long one as malformed", () => {
    expect(parseHello({ ...clientHello, authToken: "dlk_x" })).toEqual({
      ...clientHello,
      authToken: "dlk_x",
    });
    for (const authToken of ["", 42, "x".repeat(AUTH_TOKEN_BYTES_MAX + 1), "é".repeat(300)]) {
      expect(() => parseHello({ ...clientHello, authToken })).toThrow(HandshakeFailedError);
    }
    expect(
      parseHello({ ...clientHello, authToken: "x".repeat(AUTH_TOKEN_BYTES_MAX) }).authToken,
    ).toHaveLength(AUTH_TOKEN_BYTES_MAX);
  });

  it("accepts matching hellos", () => {
    expect(
      checkHello(clientHello, { role: "client", clusterId: "c1", allowAnyClusterId: true }),
    ).toBeNull();
    expect(checkHello(peerHello, { role: "peer", clusterId: "c1", nodeId: "n2" })).toBeNull();
    // A client that was not told the cluster id accepts any server.
    expect(
      checkHello({ ...peerHello, role: "client" }, { role: "client", clusterId: null }),
    ).toBeNull();
  });

  it("names what does not match", () => {
    const reason = (hello: HelloFrame, expect_: Parameters<typeof checkHello>[1]) =>
      checkHello(hello, expect_)?.reason;
    expect(reason({ ...peerHello, clusterId: "other" }, { role: "peer", clusterId: "c1" })).toBe(
      "clusterId",
    );
    expect(reason({ ...peerHello, protocolVersion: 99 }, { role: "peer", clusterId: "c1" })).toBe(
      "protocolVersion",
    );
    expect(reason(clientHello, { role: "peer", clusterId: "c1" })).toBe("role");
    expect(reason({ ...peerHello, clusterId: null }, { role: "peer", clusterId: "c1" })).toBe(
      "clusterId",
    );
    expect(reason(peerHello, { role: "peer", clusterId: "c1", nodeId: "n3" })).toBe("nodeId");
    const { nodeId: _nodeId, ...anonymousPeer } = peerHello;
    expect(reason(anonymousPeer, { role: "peer", clusterId: "c1" })).toBe("malformed");
  });

  it("produces an error that crosses the wire with its reason", () => {
    const error = checkHello(
      { ...clientHello, clusterId: "zz" },
      { role: "client", clusterId: "c1" },
    );
    expect(error?.toWire()).toMatchObject({ code: "HANDSHAKE_FAILED", reason: "clusterId" });
  });

  describe("protocol version ranges", () => {
    const peer = { role: "peer", clusterId: "c1" } as const;
    const v2 = { min: 1, max: 2 };

    it("a hello without a range speaks exactly its version, as every hello did before ranges", () => {
      expect(helloVersionFields({ min: 1, max: 1 })).toEqual({ protocolVersion: 1 });
      expect(negotiateProtocolVersion({ protocolVersion: 1 }, { min: 1, max: 1 })).toBe(1);
      expect(negotiateProtocolVersion({ protocolVersion: 2 }, { min: 1, max: 1 })).toBeNull();
      expect(negotiateProtocolVersion({ protocolVersion: 1 }, v2)).toBe(1);
      // This build's own hello is today's: no range while it speaks one version.
      if (PROTOCOL_VERSIONS.min === PROTOCOL_VERSIONS.max) {
        expect(helloVersionFields()).toEqual({ protocolVersion: PROTOCOL_VERSION });
      }
    });

    it("uses the newest version both sides speak, and refuses ranges that do not overlap", () => {
      expect(helloVersionFields(v2)).toEqual({ protocolVersion: 2, protocolVersionMin: 1 });
      expect(negotiateProtocolVersion({ protocolVersion: 2, protocolVersionMin: 1 }, v2)).toBe(2);
      expect(
        negotiateProtocolVersion({ protocolVersion: 3, protocolVersionMin: 1 }, { min: 1, max: 1 }),
      ).toBe(1);
      expect(
        negotiateProtocolVersion({ protocolVersion: 3, protocolVersionMin: 2 }, { min: 1, max: 1 }),
      ).toBeNull();
      expect(
        checkHello({ ...peerHello, protocolVersion: 3, protocolVersionMin: 1 }, peer),
      ).toBeNull();
      const refused = checkHello(
        { ...peerHello, protocolVersion: 3, protocolVersionMin: 2 },
        peer,
        { min: 1, max: 1 },
      );
      expect(refused?.reason).toBe("protocolVersion");
      expect(refused?.message).toMatch(
        /protocol version 2 to 3 is not supported \(this side speaks 1\)/,
      );
    });

    it("parses the range and refuses a malformed one", () => {
      const ranged = { ...peerHello, protocolVersion: 2, protocolVersionMin: 1 };
      expect(parseHello(ranged)).toEqual(ranged);
      for (const protocolVersionMin of ["1", 1.5, 3, null]) {
        expect(() => parseHello({ ...peerHello, protocolVersion: 2, protocolVersionMin })).toThrow(
          /protocolVersionMin/,
        );
      }
    });
  });
});
