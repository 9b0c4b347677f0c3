import { describe, expect, it } from "vitest";
import { ConfigError } from "@dlock/protocol";
import { parseAuthFile } from "../../src/auth/auth-file.js";
import { generateAuthToken, hashAuthToken } from "../../src/auth/auth-token.js";
import { Authenticator } from "../../src/auth/authenticator.js";
import { certificateNameOf } from "../../src/auth/certificate-name.js";
import type { Socket } from "node:net";

const ciToken = generateAuthToken();
const opsToken = generateAuthToken();
const FILE = [
  "# name  hash  grants",
  `ci   ${hashAuthToken(ciToken)}   lock:jobs/*  read:*   # the CI runners`,
  "",
  `ops ${hashAuthToken(opsToken)} admin`,
  "worker-1 - lock:jobs/*",
].join("\n");

describe("auth tokens", () => {
  it("are 256-bit random, prefixed, and hashed as sha256:<hex>", () => {
    expect(ciToken).toMatch(/^dlk_[A-Za-z0-9_-]{43}$/);
    expect(ciToken).not.toBe(opsToken);
    expect(hashAuthToken("abc")).toBe(
      "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});

describe("parseAuthFile", () => {
  it("reads principals, grants (a bare role is *), comments and certificate-only lines", () => {
    const entries = parseAuthFile(FILE);
    expect(entries.map((e) => e.principal)).toEqual([
      {
        name: "ci",
        grants: [
          { role: "lock", scope: "jobs/*" },
          { role: "read", scope: "*" },
        ],
      },
      { name: "ops", grants: [{ role: "admin", scope: "*" }] },
      { name: "worker-1", grants: [{ role: "lock", scope: "jobs/*" }] },
    ]);
    expect(entries[2].tokenDigest).toBeNull();
  });

  it.each([
    ["bad name", "c!i sha256:" + "0".repeat(64) + " read"],
    ["no grant", "ci sha256:" + "0".repeat(64)],
    ["bad hash", "ci sha256:abc read"],
    ["plain token instead of hash", `ci ${ciToken} read`],
    ["unknown role", "ci - write:*"],
    ["empty scope", "ci - lock:"],
    ["duplicate name", "ci - read\nci - lock"],
    ["shared hash", `a ${hashAuthToken(ciToken)} read\nb ${hashAuthToken(ciToken)} read`],
  ])("refuses a file with a %s, naming the line", (_what, text) => {
    expect(() => parseAuthFile(text, "auth")).toThrow(ConfigError);
    expect(() => parseAuthFile(text, "auth")).toThrow(/auth line \d/);
  });
});

describe("Authenticator", () => {
  const auth = new Authenticator(parseAuthFile(FILE));

  it("finds the principal of a token", () => {
    expect(auth.authenticate({ authToken: ciToken, certificateName: null }).name).toBe("ci");
    expect(auth.authenticate({ authToken: opsToken, certificateName: "worker-1" }).name).toBe(
      "ops",
    );
  });

  it("maps a verified certificate's CN to the principal of that name", () => {
    expect(auth.authenticate({ authToken: null, certificateName: "worker-1" }).name).toBe(
      "worker-1",
    );
  });

  it("refuses unknown, missing or hash-as-token credentials with UNAUTHENTICATED", () => {
    const refused = [
      { authToken: generateAuthToken(), certificateName: null },
      { authToken: hashAuthToken(ciToken), certificateName: null },
      // A bad token is not rescued by a good certificate.
      { authToken: "dlk_wrong", certificateName: "worker-1" },
      { authToken: null, certificateName: "stranger" },
      { authToken: null, certificateName: null },
    ];
    for (const credentials of refused) {
      expect(() => auth.authenticate(credentials)).toThrow(
        expect.objectContaining({ code: "UNAUTHENTICATED" }),
      );
    }
  });
});

describe("certificateNameOf", () => {
  const fake = (socket: object) => socket as unknown as Socket;

  it("reads the CN of a verified client certificate", () => {
    const socket = fake({
      authorized: true,
      getPeerCertificate: () => ({ subject: { CN: "worker-1", O: "dlock" } }),
    });
    expect(certificateNameOf(socket)).toBe("worker-1");
  });

  it("ignores plain sockets, unverified certificates and ambiguous CNs", () => {
    expect(certificateNameOf(fake({}))).toBeNull();
    expect(
      certificateNameOf(
        fake({ authorized: false, getPeerCertificate: () => ({ subject: { CN: "worker-1" } }) }),
      ),
    ).toBeNull();
    expect(
      certificateNameOf(
        fake({ authorized: true, getPeerCertificate: () => ({ subject: { CN: ["a", "b"] } }) }),
      ),
    ).toBeNull();
    expect(
      certificateNameOf(fake({ authorized: true, getPeerCertificate: () => ({}) })),
    ).toBeNull();
  });
});
