// Non-cryptographic 53-bit hashing (two murmur3 lanes) for log chains, state digests and the trace
// hash. A collision could only hide a difference, never invent one, and 53 bits make that
// negligible at simulator scale.

const LANE_SEED_LO = 0x2f6b_31c5;
const LANE_SEED_HI = 0x7a1d_94e3;
const TWO_POW_32 = 4294967296;
const TWO_POW_21 = 2097152;

/** An incremental hasher; digest() does not reset it, so it can keep absorbing (trace hashing). */
export class Hasher {
  private lo: number;
  private hi: number;

  constructor(seed = 0) {
    this.lo = LANE_SEED_LO ^ seed;
    this.hi = LANE_SEED_HI ^ Math.imul(seed, 0x9e3779b1);
  }

  /** Absorbs an integer (any safe integer; negative and fractional values are folded too). */
  int(value: number): this {
    const low = value >>> 0;
    const high = Math.floor(value / TWO_POW_32) >>> 0;
    this.lo = round(this.lo, low);
    this.hi = round(this.hi, low ^ 0x5555_5555);
    if (high !== 0) {
      this.lo = round(this.lo, high);
      this.hi = round(this.hi, high ^ 0x3333_3333);
    }
    return this;
  }

  bytes(data: Uint8Array): this {
    this.int(data.length);
    let i = 0;
    for (; i + 4 <= data.length; i += 4) {
      // i + 3 < data.length: the loop's test.
      const word = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
      this.lo = round(this.lo, word);
      this.hi = round(this.hi, word ^ 0x0f0f_0f0f);
    }
    let tail = 0;
    for (let shift = 0; i < data.length; i++, shift += 8) tail |= data[i]! << shift;
    this.lo = round(this.lo, tail);
    this.hi = round(this.hi, tail ^ 0x0f0f_0f0f);
    return this;
  }

  string(text: string): this {
    this.int(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      this.lo = round(this.lo, code);
      this.hi = round(this.hi, code ^ 0x7777_7777);
    }
    return this;
  }

  /** A non-negative safe integer (< 2^53). */
  digest(): number {
    return (fmix(this.hi) >>> 0) * TWO_POW_21 + (fmix(this.lo) >>> 11);
  }
}

function round(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
