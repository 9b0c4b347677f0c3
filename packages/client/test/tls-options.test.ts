import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "@dlock/protocol";
import { resolveLockerOptions } from "../src/resolve-locker-options.js";
import { tlsConnectOptions, tlsFailureHint } from "../src/tls-options.js";
import type { ClientTlsOptions } from "../src/tls-options.js";

const PEM = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";

function fieldOf(tls: unknown): string | null {
  try {
    resolveLockerOptions({ endpoints: ["127.0.0.1:7001"], tls: tls as ClientTlsOptions });
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as InvalidArgumentError).field;
  }
}

describe("Locker tls option", () => {
  it("names the bad field", () => {
    expect(fieldOf({ ca: "" })).toBe("tls.ca");
    expect(fieldOf({ ca: [] })).toBe("tls.ca");
    expect(fieldOf({ ca: PEM, cert: PEM })).toBe("tls.key");
    expect(fieldOf({ ca: PEM, servername: "" })).toBe("tls.servername");
    expect(fieldOf({ ca: PEM, cert: PEM, key: PEM })).toBeNull();
  });

  it("accepts only a certificate that names a dlock node, and checks servername when given", () => {
    const check = (options: ClientTlsOptions) =>
      tlsConnectOptions(options).checkServerIdentity as (
        host: string,
        certificate: { subjectaltname?: string; subject?: { CN: string } },
      ) => Error | undefined;
    const node = {
      subjectaltname: "URI:dlock://node/n1, IP Address:10.0.0.1",
      subject: { CN: "n1" },
    };
    expect(check({ ca: PEM })("10.9.9.9", node)).toBeUndefined();
    expect(check({ ca: PEM })("10.0.0.1", { subjectaltname: "DNS:example.com" })).toBeInstanceOf(
      Error,
    );
    expect(check({ ca: PEM, servername: "db1.internal" })("10.0.0.1", node)).toBeInstanceOf(Error);
  });

  it("tells a wrong CA from a server without TLS", () => {
    const wrongCa = Object.assign(new Error("self-signed certificate in certificate chain"), {
      code: "SELF_SIGNED_CERT_IN_CHAIN",
    });
    expect(tlsFailureHint(wrongCa, true, false)).toMatch(/does not verify against the given CA/);
    expect(tlsFailureHint(null, false, false)).toMatch(/give --tls-ca/);
    expect(tlsFailureHint(wrongCa, true, true)).toBe("");
  });
});
