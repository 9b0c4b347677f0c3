// Not a test: measures framing of a small acquire request (vitest bench, not part of `vitest run`).
// Run: npx vitest bench --run packages/protocol
import { Packr, Unpackr } from "msgpackr";
import { bench, describe } from "vitest";
import { FrameDecoder, FrameEncoder } from "../src/index.js";

const request = {
  type: "acquire",
  id: 12345,
  key: "orders/42",
  value: "worker-7f3a",
  ttlMs: 30_000,
  requestId: "c-9b1e-17",
};

const encoder = new FrameEncoder();
const frame = encoder.encode(request);
const decoder = new FrameDecoder();
const withRecords = new Packr({ useRecords: true, sequential: true });
const readRecords = new Unpackr({ useRecords: true, sequential: true });
const recordBody = withRecords.pack(request);
let sink: unknown;

describe(`small acquire request (${frame.length} bytes framed)`, () => {
  bench("FrameEncoder.encode (useRecords: false)", () => {
    sink = encoder.encode(request);
  });
  bench("FrameDecoder.push + decode (useRecords: false)", () => {
    decoder.push(frame, (body) => (sink = body));
  });
  bench("msgpackr sequential records: pack (comparison)", () => {
    sink = withRecords.pack(request);
  });
  bench("msgpackr sequential records: unpack (comparison)", () => {
    sink = readRecords.unpack(recordBody);
  });
  bench("JSON.stringify + Buffer.from (comparison)", () => {
    sink = Buffer.from(JSON.stringify(request));
  });
  bench("JSON.parse (comparison)", () => {
    sink = JSON.parse(
      '{"type":"acquire","id":12345,"key":"orders/42","value":"worker-7f3a","ttlMs":30000,"requestId":"c-9b1e-17"}',
    );
  });
});
void sink;
