// Reads the few msgpack shapes a lock record is made of (a string, nil, an unsigned integer below
// 2^32) straight from the bytes, for the table build of a snapshot install: msgpackr's generic
// decoder made an array per record and the build a state object and a Set, a million of each,
// and the garbage collector's pauses were most of the install's longest stalls. Anything else
// (a longer integer, a non-ASCII string, another type) reads as NOT_PLAIN, and the caller decodes
// the record the general way, which also rejects what is malformed.

/** What a read returns when the bytes are not in a plain shape (or run past the end). */
export const NOT_PLAIN = -1;

/** A cursor over one record's bytes; `at` is the next byte. */
export interface PlainReader {
  bytes: Uint8Array;
  at: number;
}

/** Character codes of the string being read, reused: no view or copy of the bytes per string. */
const codes: number[] = [];
/** Longer strings take the general way (one call's arguments stay few). */
const PLAIN_STRING_CHARS_MAX = 1024;

/** An unsigned integer (positive fixint, uint8, uint16, uint32), or NOT_PLAIN. */
export function readPlainUint(reader: PlainReader): number {
  const { bytes } = reader;
  const at = reader.at;
  if (at >= bytes.length) return NOT_PLAIN;
  const head = bytes[at]!;
  if (head <= 0x7f) {
    reader.at = at + 1;
    return head;
  }
  const width = head === 0xcc ? 1 : head === 0xcd ? 2 : head === 0xce ? 4 : 0;
  if (width === 0 || at + 1 + width > bytes.length) return NOT_PLAIN;
  let value = 0;
  for (let i = 1; i <= width; i++) value = value * 256 + bytes[at + i]!;
  reader.at = at + 1 + width;
  return value;
}

/**
 * An ASCII string (fixstr, str8, str16), null for nil when `nilAllowed`, or undefined when the
 * bytes hold something else.
 */
export function readPlainString(
  reader: PlainReader,
  nilAllowed: boolean,
): string | null | undefined {
  const { bytes } = reader;
  let at = reader.at;
  if (at >= bytes.length) return undefined;
  const head = bytes[at]!;
  let length: number;
  if (head >= 0xa0 && head <= 0xbf) {
    length = head - 0xa0;
    at += 1;
  } else if (head === 0xd9 && at + 2 <= bytes.length) {
    length = bytes[at + 1]!;
    at += 2;
  } else if (head === 0xda && at + 3 <= bytes.length) {
    length = bytes[at + 1]! * 256 + bytes[at + 2]!;
    at += 3;
  } else {
    if (head === 0xc0 && nilAllowed) {
      reader.at = at + 1;
      return null;
    }
    return undefined;
  }
  const end = at + length;
  if (end > bytes.length || length > PLAIN_STRING_CHARS_MAX) return undefined;
  codes.length = length;
  for (let i = 0; i < length; i++) {
    const byte = bytes[at + i]!;
    if (byte > 0x7f) return undefined;
    codes[i] = byte;
  }
  reader.at = end;
  return String.fromCharCode.apply(null, codes);
}
