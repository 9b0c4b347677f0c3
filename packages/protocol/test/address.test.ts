import { describe, expect, it } from "vitest";
import { formatHostPort, isLoopbackHost, isWildcardHost, parseHostPort } from "../src/index.js";
import { configRefusal } from "./config-refusal.js";

function optionOf(run: () => unknown): string {
  return configRefusal(run).option;
}

describe("parseHostPort", () => {
  it("parses names, IPv4 and bracketed IPv6, and formats them back", () => {
    for (const [text, host, port] of [
      ["10.0.0.1:7101", "10.0.0.1", 7101],
      ["db-1.example_x:1", "db-1.example_x", 1],
      ["[::1]:7101", "::1", 7101],
      ["[fe80::1%eth0]:65535", "fe80::1%eth0", 65_535],
      ["[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80],
    ] as const) {
      expect(parseHostPort(text, "x")).toEqual({ host, port });
      expect(formatHostPort({ host, port })).toBe(text);
    }
  });

  it("takes port 0 and an empty host only where the rules allow them (listen addresses)", () => {
    expect(optionOf(() => parseHostPort("localhost:0", "peers.n1"))).toBe("peers.n1");
    expect(parseHostPort("localhost:0", "x", { portZero: true })).toEqual({
      host: "localhost",
      port: 0,
    });
    expect(optionOf(() => parseHostPort(":7001", "clientListen"))).toBe("clientListen");
    expect(parseHostPort(":7001", "x", { hostEmpty: true })).toEqual({ host: "", port: 7001 });
    expect(parseHostPort("[::]:80", "x")).toEqual({ host: "::", port: 80 });
    expect(parseHostPort({ host: "::1", port: 0 }, "x", { portZero: true })).toEqual({
      host: "::1",
      port: 0,
    });
  });

  it("refuses what is not host:port with a ConfigError naming the option", () => {
    for (const bad of [
      "localhost",
      "::1:80",
      "[::1]",
      "[nothex]:80",
      "host:70000",
      "host:123456",
      "host:-1",
      " host:80",
      "host:80 ",
      "ho st:80",
      "a:b:80",
      `${"a".repeat(300)}:80`,
      "",
      7001,
      null,
      undefined,
      { host: "a", port: 0 },
      { host: "", port: 1 },
      { host: "a", port: 1.5 },
      { host: "a" },
    ]) {
      expect(
        optionOf(() => parseHostPort(bad, "endpoints")),
        String(bad),
      ).toBe("endpoints");
    }
  });

  it("says what is wrong and shows an example", () => {
    expect(() => parseHostPort("::1:80", "peers.n2")).toThrow(
      /^peers\.n2: "::1:80" is not a host:port \(e\.g\. .*\[::1\]:7001\)$/,
    );
    expect(() => parseHostPort("h:65536", "httpListen")).toThrow(
      'httpListen: port 65536 in "h:65536" is out of range 1..65535',
    );
    expect(() => parseHostPort(80, "endpoints")).toThrow(/must be a "host:port" string/);
  });
});

describe("host classes", () => {
  it("knows loopback and wildcard hosts", () => {
    for (const host of [
      "localhost",
      "LOCALHOST",
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "::ffff:127.0.0.1",
    ])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["10.0.0.1", "127.example.com", "0.0.0.0", "::", ""])
      expect(isLoopbackHost(host), host).toBe(false);
    for (const host of ["0.0.0.0", "::", ""]) expect(isWildcardHost(host), host).toBe(true);
    expect(isWildcardHost("127.0.0.1")).toBe(false);
  });
});
