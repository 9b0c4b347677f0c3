/** Slots per page by default (2^12): a page of doubles is 32 KiB. */
export const PAGE_BITS_DEFAULT = 12;

/** Slots of the first page when it is allocated; it doubles up to a whole page. */
const FIRST_PAGE_SLOTS = 8;

/** One page of a PagedArray: a typed array or a plain array of the page's length. */
export interface Page<V> {
  [slot: number]: V;
}

/**
 * An array that grows a page at a time. Doubling a typed array copies every element and, past a
 * few hundred thousand slots, allocates tens of MiB in one step: with a million locks that was a
 * stall of its own on every node at once. Adding a page copies nothing. Slots of a new page hold
 * whatever `newPage` filled them with.
 */
export class PagedArray<V> {
  protected pages: Array<Page<V>> = [];
  private slots = 0;
  protected readonly mask: number;

  constructor(
    private readonly newPage: (slots: number) => Page<V>,
    protected readonly pageBits: number = PAGE_BITS_DEFAULT,
  ) {
    this.mask = (1 << pageBits) - 1;
  }

  /** Slots addressable without reserve(). */
  get capacity(): number {
    return this.slots;
  }

  /** The value at `slot` (which must be below capacity). */
  at(slot: number): V {
    return this.pages[slot >>> this.pageBits]![slot & this.mask] as V;
  }

  put(slot: number, value: V): void {
    this.pages[slot >>> this.pageBits]![slot & this.mask] = value;
  }

  /**
   * Adds room until `slot` is addressable. The first page starts at FIRST_PAGE_SLOTS and doubles
   * up to a whole page (a copy of at most one page): most tables are small, and the simulator
   * starts thousands of nodes whose tables hold a few keys.
   */
  reserve(slot: number): void {
    const pageSlots = 1 << this.pageBits;
    while (slot >= this.slots) {
      const first = this.pages[0];
      if (first === undefined) {
        this.slots = Math.min(FIRST_PAGE_SLOTS, pageSlots);
        this.pages.push(this.newPage(this.slots));
      } else if (this.slots < pageSlots) {
        const grown = this.newPage(Math.min(this.slots * 2, pageSlots));
        for (let i = 0; i < this.slots; i++) grown[i] = first[i] as V;
        this.pages[0] = grown;
        this.slots = Math.min(this.slots * 2, pageSlots);
      } else {
        this.pages.push(this.newPage(pageSlots));
        this.slots += pageSlots;
      }
    }
  }

  /** Drops every page (capacity 0). */
  clear(): void {
    this.pages = [];
    this.slots = 0;
  }
}

// V8 keeps one inline cache per element access in a function's code, shared by every object that
// runs it. One `at`/`put` over Uint8, Int32, Uint32 and Float64 pages and plain arrays saw them all
// and went megamorphic (a generic element access, ~13x slower than a monomorphic one in a
// micro-benchmark; `put` was 1-2% of a busy leader's CPU). So each kind of page has its own copy
// of the two methods below, and each of their element accesses sees one kind of page: applying an
// acquire or a release with the leader's lease bookkeeping went from 1.3-1.6 to 0.45-0.72 µs.

/** A PagedArray of doubles (Float64Array pages), each slot `initial` until written. */
export class Float64Pages extends PagedArray<number> {
  constructor(initial = 0, pageBits?: number) {
    super((slots) => filled(new Float64Array(slots), initial), pageBits);
  }

  override at(slot: number): number {
    return this.pages[slot >>> this.pageBits]![slot & this.mask]!;
  }

  override put(slot: number, value: number): void {
    this.pages[slot >>> this.pageBits]![slot & this.mask] = value;
  }
}

/** A PagedArray of int32 (Int32Array pages), each slot `initial` until written. */
export class Int32Pages extends PagedArray<number> {
  constructor(initial = 0, pageBits?: number) {
    super((slots) => filled(new Int32Array(slots), initial), pageBits);
  }

  override at(slot: number): number {
    return this.pages[slot >>> this.pageBits]![slot & this.mask]!;
  }

  override put(slot: number, value: number): void {
    this.pages[slot >>> this.pageBits]![slot & this.mask] = value;
  }
}

/** A PagedArray of uint32 (Uint32Array pages), 0 until written. */
export class Uint32Pages extends PagedArray<number> {
  constructor(pageBits?: number) {
    super((slots) => new Uint32Array(slots), pageBits);
  }

  override at(slot: number): number {
    return this.pages[slot >>> this.pageBits]![slot & this.mask]!;
  }

  override put(slot: number, value: number): void {
    this.pages[slot >>> this.pageBits]![slot & this.mask] = value;
  }
}

/** A PagedArray of bytes (Uint8Array pages), 0 until written. */
export class Uint8Pages extends PagedArray<number> {
  constructor(pageBits?: number) {
    super((slots) => new Uint8Array(slots), pageBits);
  }

  override at(slot: number): number {
    return this.pages[slot >>> this.pageBits]![slot & this.mask]!;
  }

  override put(slot: number, value: number): void {
    this.pages[slot >>> this.pageBits]![slot & this.mask] = value;
  }
}

/** A PagedArray of plain values (array pages), each slot `initial` until written. */
export class ValuePages<V> extends PagedArray<V> {
  constructor(initial: V, pageBits?: number) {
    super((slots) => new Array<V>(slots).fill(initial), pageBits);
  }

  override at(slot: number): V {
    return this.pages[slot >>> this.pageBits]![slot & this.mask] as V;
  }

  override put(slot: number, value: V): void {
    this.pages[slot >>> this.pageBits]![slot & this.mask] = value;
  }
}

function filled<T extends Float64Array | Int32Array>(page: T, initial: number): T {
  return initial === 0 ? page : (page.fill(initial) as T);
}

/** A PagedArray of plain values, each slot `initial` until written. */
export function pagedValues<V>(initial: V, pageBits?: number): ValuePages<V> {
  return new ValuePages<V>(initial, pageBits);
}
