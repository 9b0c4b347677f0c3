import type { KeyState, Waiter } from "./key-state.js";
import { KeyArena } from "./key-arena.js";
import { Float64Pages, Int32Pages, Uint32Pages, pagedValues } from "./paged-array.js";
import { SlotIndex } from "./slot-index.js";

/**
 * The exclusive lock table, stored compactly: one slot per key, its numbers in typed arrays, its
 * key's code units in a KeyArena's byte pages, and its holder as the id of an interned value (the
 * clients of one process hold their locks under one value). With a JS object, a waiter array and
 * two strings per lock, a million locks were millions of heap objects, and every full GC had to
 * walk all of them; with the key strings alone they were still a million.
 * Waiters are rare; a key's queue is an ordinary array, kept only while it is not empty.
 * Nothing grows in one big step: the key index (numbers only: see SlotIndex) is sharded and the
 * arrays grow a page at a time.
 *
 * Map-like so the state machine reads as before: get() returns a KeyState view of a slot that
 * reads and writes the arrays. A view is valid until its key is deleted (its slot is reused).
 * Deterministic: slots and value ids are reused in LIFO order, iteration is in slot order (the
 * same operations, the same order).
 */
export class KeyTable {
  private readonly keyOf = new KeyArena();
  private readonly slotOf = new SlotIndex((slot, key) => this.keyOf.equals(slot, key));
  private readonly holderId = new Int32Pages();
  // Read by KeySlot field by field: a property each, not one keyed read through the field's name
  // (megamorphic: the slowest part of encoding 1,024 records after a catch-up).
  /** @internal */ readonly token = pagedNumbers();
  /** @internal */ readonly leaseRevision = pagedNumbers();
  /** @internal */ readonly delayRevision = pagedNumbers();
  /** @internal */ readonly ttlMs = pagedNumbers();
  /** @internal */ readonly lockDelayMs = pagedNumbers();
  /** @internal */ readonly delayMs = pagedNumbers();
  private readonly waitersOf = new Map<number, Waiter[]>();
  private readonly freeSlots: number[] = [];
  private slotsUsed = 0;
  private readonly values = new ValueInterner();

  get size(): number {
    return this.slotOf.size;
  }

  has(key: string): boolean {
    return this.slotOf.get(key) >= 0;
  }

  get(key: string): KeyState | undefined {
    const slot = this.slotOf.get(key);
    return slot < 0 ? undefined : new KeySlot(this, slot);
  }

  /** Stores a copy of `state` under `key` (its waiters array is taken over, not copied). */
  set(key: string, state: KeyState): void {
    let slot = this.slotOf.get(key);
    if (slot < 0) {
      slot = this.allocate(key);
      this.slotOf.addIfAbsent(key, slot);
    }
    this.write(slot, state);
  }

  /**
   * Adds `key` with a copy of `state`, like set(); false, changing nothing, if the key is there
   * already. A load adds a million keys: one hash and lookup each, not three (has, get, set).
   */
  insert(key: string, state: KeyState): boolean {
    const slot = this.freeSlots.at(-1) ?? this.slotsUsed;
    if (this.slotOf.addIfAbsent(key, slot) >= 0) return false;
    // Takes `slot` (the free slot on top, or the next unused one) and stores its key, which the
    // index compares from now on.
    this.allocate(key);
    this.write(slot, state);
    return true;
  }

  /** Sizes the key index for `keys` keys (a load that knows its record count): see SlotIndex.reserve. */
  reserve(keys: number): void {
    this.slotOf.reserve(keys);
  }

  delete(key: string): boolean {
    const slot = this.slotOf.get(key);
    if (slot < 0) return false;
    this.slotOf.delete(key); // before the slot forgets its key, which the index compares
    this.setHolder(slot, null);
    this.waitersOf.delete(slot);
    this.keyOf.remove(slot);
    this.freeSlots.push(slot);
    return true;
  }

  clear(): void {
    this.slotOf.clear();
    this.keyOf.clear();
    this.holderId.clear();
    for (const field of NUMBER_FIELDS) this[field].clear();
    this.waitersOf.clear();
    this.freeSlots.length = 0;
    this.slotsUsed = 0;
    this.values.clear();
  }

  /** Appends a waiter to the key's queue (the key must exist). */
  pushWaiter(key: string, waiter: Waiter): void {
    const slot = this.slotOf.get(key);
    if (slot < 0) throw new Error(`pushWaiter: no key ${key}`);
    const queue = this.waitersOf.get(slot);
    if (queue === undefined) this.waitersOf.set(slot, [waiter]);
    else queue.push(waiter);
  }

  /**
   * The keys in slot order. An iteration across changes skips keys deleted meanwhile; a key
   * added meanwhile is visited if its slot is one not reached yet.
   */
  *keys(): Generator<string> {
    for (let slot = 0; slot < this.slotsUsed; slot++) {
      const key = this.keyOf.at(slot);
      if (key !== undefined) yield key;
    }
  }

  /** A fresh view per key, in slot order (as keys()). */
  *states(): Generator<KeyState> {
    for (let slot = 0; slot < this.slotsUsed; slot++) {
      if (this.used(slot)) yield new KeySlot(this, slot);
    }
  }

  /** states() without a generator's result object per key, for a scan that changes nothing. */
  forEachState(visit: (state: KeyState) => void): void {
    for (let slot = 0; slot < this.slotsUsed; slot++) {
      if (this.used(slot)) visit(new KeySlot(this, slot));
    }
  }

  // ---- slot fields (for KeySlot) ------------------------------------------------------------

  /** @internal */ keyAt(slot: number): string {
    return this.keyOf.at(slot) as string;
  }
  /** Whether `slot` holds a key (keyAt makes a string of it; this does not). */
  private used(slot: number): boolean {
    return this.keyOf.holds(slot);
  }
  /** @internal */ holderAt(slot: number): string | null {
    return this.values.valueOf(this.holderId.at(slot));
  }
  /** @internal */ setHolder(slot: number, holder: string | null): void {
    const previous = this.holderId.at(slot);
    const next = holder === null ? 0 : this.values.acquire(holder);
    this.holderId.put(slot, next);
    this.values.release(previous);
  }
  /** @internal */ waitersAt(slot: number): Waiter[] {
    // No queue: a fresh empty array (waiters are added through pushWaiter).
    return this.waitersOf.get(slot) ?? [];
  }
  /** @internal */ setWaiters(slot: number, waiters: Waiter[]): void {
    if (waiters.length === 0) this.waitersOf.delete(slot);
    else this.waitersOf.set(slot, waiters);
  }

  private write(slot: number, state: KeyState): void {
    this.setHolder(slot, state.holder);
    this.token.put(slot, state.token);
    this.leaseRevision.put(slot, state.leaseRevision);
    this.ttlMs.put(slot, state.ttlMs);
    this.lockDelayMs.put(slot, state.lockDelayMs);
    this.delayRevision.put(slot, state.delayRevision);
    this.delayMs.put(slot, state.delayMs);
    this.setWaiters(slot, state.waiters);
  }

  private allocate(key: string): number {
    const reused = this.freeSlots.pop();
    const slot = reused ?? this.slotsUsed++;
    if (slot >= this.token.capacity) {
      this.holderId.reserve(slot);
      for (const field of NUMBER_FIELDS) this[field].reserve(slot);
    }
    this.keyOf.put(slot, key);
    this.holderId.put(slot, 0);
    for (const field of NUMBER_FIELDS) this[field].put(slot, 0);
    return slot;
  }
}

function pagedNumbers(): Float64Pages {
  return new Float64Pages();
}

const NUMBER_FIELDS = [
  "token",
  "leaseRevision",
  "delayRevision",
  "ttlMs",
  "lockDelayMs",
  "delayMs",
] as const;

/** A KeyState that reads and writes one slot of a KeyTable. */
class KeySlot implements KeyState {
  constructor(
    private readonly table: KeyTable,
    private readonly slot: number,
  ) {}
  get key(): string {
    return this.table.keyAt(this.slot);
  }
  get holder(): string | null {
    return this.table.holderAt(this.slot);
  }
  set holder(value: string | null) {
    this.table.setHolder(this.slot, value);
  }
  get token(): number {
    return this.table.token.at(this.slot);
  }
  set token(value: number) {
    this.table.token.put(this.slot, value);
  }
  get leaseRevision(): number {
    return this.table.leaseRevision.at(this.slot);
  }
  set leaseRevision(value: number) {
    this.table.leaseRevision.put(this.slot, value);
  }
  get ttlMs(): number {
    return this.table.ttlMs.at(this.slot);
  }
  set ttlMs(value: number) {
    this.table.ttlMs.put(this.slot, value);
  }
  get lockDelayMs(): number {
    return this.table.lockDelayMs.at(this.slot);
  }
  set lockDelayMs(value: number) {
    this.table.lockDelayMs.put(this.slot, value);
  }
  get delayRevision(): number {
    return this.table.delayRevision.at(this.slot);
  }
  set delayRevision(value: number) {
    this.table.delayRevision.put(this.slot, value);
  }
  get delayMs(): number {
    return this.table.delayMs.at(this.slot);
  }
  set delayMs(value: number) {
    this.table.delayMs.put(this.slot, value);
  }
  get waiters(): Waiter[] {
    return this.table.waitersAt(this.slot);
  }
}

/**
 * Holder values by id (0 = no holder), counted by the slots that hold them: a value is stored
 * once however many locks it holds, and forgotten when it holds none. Indexed and paged like the
 * table: when every lock has its own holder, one Map of values rehashed past 2^19 of them, a
 * 0.4 s stall on every node at once (at 524k locks).
 */
class ValueInterner {
  private readonly valueById = pagedValues<string | null>(null);
  private readonly idOf = new SlotIndex((id, value) => this.valueById.at(id) === value);
  private readonly refs = new Uint32Pages();
  private readonly freeIds: number[] = [];
  /** Ids handed out so far, 0 included (it stands for no holder and is never handed out). */
  private idsUsed = 1;

  valueOf(id: number): string | null {
    return id === 0 ? null : this.valueById.at(id);
  }

  acquire(value: string): number {
    // One lookup whether or not the value is new (a table build adds a million): the index
    // compares only the values of ids it holds, so the new id's value may be stored after.
    let id = this.idOf.addIfAbsent(value, this.freeIds.at(-1) ?? this.idsUsed);
    if (id < 0) {
      id = this.freeIds.pop() ?? this.idsUsed++;
      this.valueById.reserve(id);
      this.refs.reserve(id);
      this.valueById.put(id, value);
      this.refs.put(id, 0);
    }
    this.refs.put(id, this.refs.at(id) + 1);
    return id;
  }

  release(id: number): void {
    if (id === 0) return;
    const refs = this.refs.at(id) - 1;
    this.refs.put(id, refs);
    if (refs > 0) return;
    this.idOf.delete(this.valueById.at(id) as string); // while the id still has its value
    this.valueById.put(id, null);
    this.freeIds.push(id);
  }

  clear(): void {
    this.idOf.clear();
    this.valueById.clear();
    this.refs.clear();
    this.freeIds.length = 0;
    this.idsUsed = 1;
  }
}
