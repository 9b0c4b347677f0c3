/** Slots per page by default (2^12): a page of doubles is 32 KiB. */
export const PAGE_BITS_DEFAULT = 12;

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
  private pages: Array<Page<V>> = [];
  private readonly mask: number;

  constructor(
    private readonly newPage: (slots: number) => Page<V>,
    private readonly pageBits: number = PAGE_BITS_DEFAULT,
  ) {
    this.mask = (1 << pageBits) - 1;
  }

  /** Slots addressable without reserve(). */
  get capacity(): number {
    return this.pages.length << this.pageBits;
  }

  /** The value at `slot` (which must be below capacity). */
  at(slot: number): V {
    return this.pages[slot >>> this.pageBits]![slot & this.mask] as V;
  }

  put(slot: number, value: V): void {
    this.pages[slot >>> this.pageBits]![slot & this.mask] = value;
  }

  /** Adds pages until `slot` is addressable. */
  reserve(slot: number): void {
    while (slot >= this.capacity) this.pages.push(this.newPage(1 << this.pageBits));
  }

  /** Drops every page (capacity 0). */
  clear(): void {
    this.pages = [];
  }
}

/** A PagedArray of plain values, each slot `initial` until written. */
export function pagedValues<V>(initial: V, pageBits?: number): PagedArray<V> {
  return new PagedArray<V>((slots) => new Array<V>(slots).fill(initial), pageBits);
}
