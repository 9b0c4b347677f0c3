// Admin-port inputs: HTTP requests (methods, paths, headers, bodies), broken framing, and slow or
// partial requests that stop part way and then go quiet for a while before the fuzzer hangs up.
import fc from "fast-check";
import { sometimes } from "./wire-input.js";

export interface AdminInput {
  method: string;
  path: string;
  version: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
  /** Raw bytes instead of a request. */
  raw: Uint8Array | null;
  /** Send only this many bytes (of the rendered request), then wait `dwellMs` and hang up. */
  cutAt: number | null;
  dwellMs: number;
  /** Write one byte at a time, with a pause between writes (a slowloris). */
  trickle: boolean;
}

const methodArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("GET", "HEAD") },
  {
    weight: 2,
    arbitrary: fc.constantFrom("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("get", "G\u00e9T", "", " ", "GET GET", "X".repeat(2000)),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
);

const pathArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom("/healthz", "/readyz", "/status", "/metrics", "/", "/healthz?x=1"),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "*",
      "//status",
      "/status/",
      "/../../etc/passwd",
      "/%00",
      "/%ZZ",
      "/status?%",
      "http://evil/status",
      "/" + "a".repeat(100_000),
      "/?" + "a=1&".repeat(5_000),
      "/\u00e9",
      "",
    ),
  },
  { weight: 1, arbitrary: fc.webPath() },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

const headerArb: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.constantFrom<[string, string]>(
    ["Content-Length", "0"],
    ["Content-Length", "-1"],
    ["Content-Length", "99999999999999999999"],
    ["Content-Length", "10"],
    ["Transfer-Encoding", "chunked"],
    ["Transfer-Encoding", "gzip, chunked"],
    ["Connection", "keep-alive"],
    ["Connection", "upgrade"],
    ["Upgrade", "websocket"],
    ["Expect", "100-continue"],
    ["Host", ""],
    ["Accept", "*/*"],
    ["X-Long", "v".repeat(70_000)],
  ),
  fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 40 })),
);

export const adminInputArb: fc.Arbitrary<AdminInput> = fc.record({
  method: methodArb,
  path: pathArb,
  version: fc.oneof(
    { weight: 6, arbitrary: fc.constant("HTTP/1.1") },
    {
      weight: 1,
      arbitrary: fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.1\r\n\r\n", ""),
    },
  ),
  headers: fc.array(headerArb, { maxLength: 5 }),
  body: fc.oneof(
    { weight: 4, arbitrary: fc.constant(new Uint8Array(0)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    { weight: 1, arbitrary: fc.constant(Buffer.from("5\r\nhello\r\nZZ\r\n0\r\n\r\n")) },
  ),
  raw: sometimes(fc.uint8Array({ minLength: 1, maxLength: 512 }), 10),
  cutAt: sometimes(fc.nat({ max: 400 }), 6),
  dwellMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 })),
  trickle: fc.oneof(
    { weight: 30, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
});

/** The bytes of `input` as written to the socket. */
export function renderAdminInput(input: AdminInput): Buffer {
  if (input.raw !== null) return Buffer.from(input.raw);
  const head =
    `${input.method} ${input.path} ${input.version}\r\n` +
    ["Host: fuzz", ...input.headers.map(([name, value]) => `${name}: ${value}`)].join("\r\n") +
    "\r\n\r\n";
  const bytes = Buffer.concat([Buffer.from(head, "latin1"), Buffer.from(input.body)]);
  return input.cutAt === null ? bytes : bytes.subarray(0, input.cutAt);
}
