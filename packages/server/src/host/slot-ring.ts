/** Slots of a fresh ring; it doubles as the span of keys held needs. */
const SLOTS_INITIAL = 64;

/**
 * A map from integer keys that arrive in about increasing order and leave about in order (log
 * indexes of pending proposals, request ids), held in a ring of slots covering the keys from the
 * lowest held to the highest. Set and delete allocate nothing once the ring is big enough.
 *
 * Why not a Map: V8 rehashes a Map's table as entries come and go, and once the Map lives in the
 * old generation each new table is allocated there directly. A long-lived Map with one set and one
 * delete per request made ~66 bytes of old-generation garbage per request (a heap profile of a
 * leader under load put the Maps of the propose path first), which only a full GC reclaims.
 *
 * Memory is 8 bytes per slot of the span between the lowest and the highest key held.
 */
export class SlotRing<V> {
  private slots: Array<V | undefined> = new Array<V | undefined>(SLOTS_INITIAL).fill(undefined);
  /** Keys held are in low..high - 1; low is held whenever count > 0. */
  private low = 0;
  private high = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: number): V | undefined {
    if (key < this.low || key >= this.high) return undefined;
    return this.slots[key % this.slots.length];
  }

  /** Sets `key` (a safe integer ≥ 0) to `value`, which must not be undefined. */
  set(key: number, value: V): void {
    if (this.count === 0) {
      this.low = key;
      this.high = key + 1;
    } else {
      const low = Math.min(this.low, key);
      const high = Math.max(this.high, key + 1);
      if (high - low > this.slots.length) this.grow(high - low);
      this.low = low;
      this.high = high;
    }
    const slot = key % this.slots.length;
    if (this.slots[slot] === undefined) this.count++;
    this.slots[slot] = value;
  }

  delete(key: number): boolean {
    if (key < this.low || key >= this.high) return false;
    const slot = key % this.slots.length;
    if (this.slots[slot] === undefined) return false;
    this.slots[slot] = undefined;
    this.count--;
    if (this.count === 0) {
      this.low = 0;
      this.high = 0;
      return true;
    }
    while (this.slots[this.low % this.slots.length] === undefined) this.low++;
    while (this.slots[(this.high - 1) % this.slots.length] === undefined) this.high--;
    return true;
  }

  /** Deletes every key up to `key` (amortized: each slot of the span is passed once). */
  deleteThrough(key: number): void {
    while (this.count > 0 && this.low <= key) this.delete(this.low);
  }

  /** The keys and values held, in key order, as they are when called. */
  entries(): Array<[number, V]> {
    const out: Array<[number, V]> = [];
    for (let key = this.low; key < this.high; key++) {
      const value = this.slots[key % this.slots.length];
      if (value !== undefined) out.push([key, value]);
    }
    return out;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.low = 0;
    this.high = 0;
    this.count = 0;
  }

  private grow(span: number): void {
    let length = this.slots.length * 2;
    while (length < span) length *= 2;
    const slots = new Array<V | undefined>(length).fill(undefined);
    for (let key = this.low; key < this.high; key++) {
      slots[key % length] = this.slots[key % this.slots.length];
    }
    this.slots = slots;
  }
}
