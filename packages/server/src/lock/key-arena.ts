import { Float64Pages, Int32Pages } from "./paged-array.js";

/** Bytes per arena page; a longer string gets a page of its own. */
const PAGE_BYTES = 1 << 20;
/** Room is handed out in multiples of this, so a freed room fits the next string of its class. */
const ROOM_BYTES_STEP = 8;
/** One-byte strings up to this long are copied in a loop: cheaper than a call into the runtime. */
const SHORT_BYTES = 64;
/** `units` of an id that holds no string. */
const NONE = -1;

/**
 * Strings by id (a table's slot), stored as their code units in large byte pages instead of as
 * one heap object each: a million held locks were a million key strings, nine in ten of the heap's
 * objects, and V8's full GC marks every one (at 1M locks its pauses reached 45-70 ms on a busy
 * 2-core machine). A string whose code units are all below 256 takes a byte per unit, any other
 * two. A freed string's room goes to the next string of the same size class (LIFO), so a workload
 * of similar keys reuses it; nothing is ever moved. Deterministic.
 */
export class KeyArena {
  private readonly pages: Buffer[] = [];
  /** Bytes handed out of the last page. */
  private lastPageUsed = PAGE_BYTES;
  /** Per id: page * PAGE_BYTES + offset of its string's room. */
  private readonly location = new Float64Pages();
  /** Per id: its string's length in code units, times 2, plus 1 if two bytes per unit; or NONE. */
  private readonly units = new Int32Pages(NONE);
  /** Free rooms by size class (bytes / ROOM_BYTES_STEP), each a stack of locations. */
  private readonly freeRooms = new Map<number, number[]>();

  /** Makes `id` addressable (ids are dense: a table's slots). */
  reserve(id: number): void {
    if (id < this.units.capacity) return;
    this.location.reserve(id);
    this.units.reserve(id);
  }

  /** Stores `text` for `id` (in place of any string it held). */
  put(id: number, text: string): void {
    this.reserve(id);
    this.remove(id);
    const wide = !isOneByte(text);
    const bytes = wide ? text.length * 2 : text.length;
    const at = this.room(bytes);
    const page = this.pages[Math.floor(at / PAGE_BYTES)]!;
    const offset = at % PAGE_BYTES;
    if (wide || bytes > SHORT_BYTES) page.write(text, offset, bytes, wide ? "utf16le" : "latin1");
    else for (let i = 0; i < bytes; i++) page[offset + i] = text.charCodeAt(i);
    this.location.put(id, at);
    this.units.put(id, text.length * 2 + (wide ? 1 : 0));
  }

  /** The string of `id`, or undefined. */
  at(id: number): string | undefined {
    if (id >= this.units.capacity) return undefined;
    const units = this.units.at(id);
    if (units === NONE) return undefined;
    const at = this.location.at(id);
    const offset = at % PAGE_BYTES;
    const page = this.pages[Math.floor(at / PAGE_BYTES)]!;
    const wide = (units & 1) === 1;
    const length = units >>> 1;
    return page.toString(
      wide ? "utf16le" : "latin1",
      offset,
      offset + (wide ? length * 2 : length),
    );
  }

  /** Whether `id` holds a string. */
  holds(id: number): boolean {
    return id < this.units.capacity && this.units.at(id) !== NONE;
  }

  /** Whether `id` holds exactly `text`, without making a string of it. */
  equals(id: number, text: string): boolean {
    if (id >= this.units.capacity) return false;
    const units = this.units.at(id);
    if (units === NONE || units >>> 1 !== text.length) return false;
    const at = this.location.at(id);
    const offset = at % PAGE_BYTES;
    const page = this.pages[Math.floor(at / PAGE_BYTES)]!;
    if ((units & 1) === 0) {
      for (let i = 0; i < text.length; i++) {
        if (page[offset + i] !== text.charCodeAt(i)) return false;
      }
    } else {
      for (let i = 0; i < text.length; i++) {
        const unit = page[offset + 2 * i]! | (page[offset + 2 * i + 1]! << 8);
        if (unit !== text.charCodeAt(i)) return false;
      }
    }
    return true;
  }

  /** Forgets the string of `id`; its room goes to the next string of its size class. */
  remove(id: number): void {
    if (id >= this.units.capacity) return;
    const units = this.units.at(id);
    if (units === NONE) return;
    const bytes = (units & 1) === 1 ? (units >>> 1) * 2 : units >>> 1;
    const sizeClass = sizeClassOf(bytes);
    let stack = this.freeRooms.get(sizeClass);
    if (stack === undefined) {
      stack = [];
      this.freeRooms.set(sizeClass, stack);
    }
    stack.push(this.location.at(id));
    this.units.put(id, NONE);
  }

  clear(): void {
    this.pages.length = 0;
    this.lastPageUsed = PAGE_BYTES;
    this.location.clear();
    this.units.clear();
    this.freeRooms.clear();
  }

  /** Bytes of the pages (for tests and diagnostics). */
  get pageBytes(): number {
    return this.pages.reduce((sum, page) => sum + page.length, 0);
  }

  /** The location of a room for `bytes`: a freed one of its class, or new. */
  private room(bytes: number): number {
    const sizeClass = sizeClassOf(bytes);
    const reused = this.freeRooms.get(sizeClass)?.pop();
    if (reused !== undefined) return reused;
    const roomBytes = sizeClass * ROOM_BYTES_STEP;
    if (roomBytes > PAGE_BYTES) {
      // Longer than a page (keys are 512 bytes by default): a page of its own, used whole.
      this.pages.push(Buffer.alloc(roomBytes));
      return (this.pages.length - 1) * PAGE_BYTES;
    }
    if (this.lastPageUsed + roomBytes > PAGE_BYTES || this.lastPageIsOwn()) {
      this.pages.push(Buffer.alloc(PAGE_BYTES));
      this.lastPageUsed = 0;
    }
    const at = (this.pages.length - 1) * PAGE_BYTES + this.lastPageUsed;
    this.lastPageUsed += roomBytes;
    return at;
  }

  private lastPageIsOwn(): boolean {
    const last = this.pages.at(-1);
    return last !== undefined && last.length !== PAGE_BYTES;
  }
}

/** Rooms of [0, 8] bytes are class 1, (8, 16] class 2, and so on (an empty string takes 8). */
function sizeClassOf(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / ROOM_BYTES_STEP));
}

function isOneByte(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}
