import type { KeyState, Waiter } from "./key-state.js";

/**
 * Slots the table starts with; it doubles when full (never shrinks: freed slots are reused).
 * Small: up to 8 numbers live in V8's heap, with no backing store to allocate and count as
 * external memory (which brings GCs forward); a node starts with an empty table, and the
 * simulator starts thousands of them.
 */
const SLOTS_INITIAL = 8;

/**
 * The exclusive lock table, stored compactly: one slot per key, its numbers in typed arrays, its
 * key string once, and its holder as the id of an interned value (the clients of one process hold
 * their locks under one value). With a JS object, a waiter array and two strings per lock, a
 * million locks were millions of heap objects, and every full GC had to walk all of them.
 * Waiters are rare; a key's queue is an ordinary array, kept only while it is not empty.
 *
 * Map-like so the state machine reads as before: get() returns a KeyState view of a slot that
 * reads and writes the arrays. A view is valid until its key is deleted (its slot is reused).
 * Deterministic: slots and value ids are reused in LIFO order, iteration is in key insertion
 * order like a Map's.
 */
export class KeyTable {
  private readonly slotOf = new Map<string, number>();
  private keyOf: Array<string | undefined> = [];
  private holderId = new Int32Array(SLOTS_INITIAL);
  private token = new Float64Array(SLOTS_INITIAL);
  private leaseRevision = new Float64Array(SLOTS_INITIAL);
  private delayRevision = new Float64Array(SLOTS_INITIAL);
  private ttlMs = new Float64Array(SLOTS_INITIAL);
  private lockDelayMs = new Float64Array(SLOTS_INITIAL);
  private delayMs = new Float64Array(SLOTS_INITIAL);
  private readonly waitersOf = new Map<number, Waiter[]>();
  private readonly freeSlots: number[] = [];
  private slotsUsed = 0;
  private readonly values = new ValueInterner();

  get size(): number {
    return this.slotOf.size;
  }

  has(key: string): boolean {
    return this.slotOf.has(key);
  }

  get(key: string): KeyState | undefined {
    const slot = this.slotOf.get(key);
    return slot === undefined ? undefined : new KeySlot(this, slot);
  }

  /** Stores a copy of `state` under `key` (its waiters array is taken over, not copied). */
  set(key: string, state: KeyState): void {
    let slot = this.slotOf.get(key);
    if (slot === undefined) {
      slot = this.allocate(key);
      this.slotOf.set(key, slot);
    }
    const view = new KeySlot(this, slot);
    view.holder = state.holder;
    view.token = state.token;
    view.leaseRevision = state.leaseRevision;
    view.ttlMs = state.ttlMs;
    view.lockDelayMs = state.lockDelayMs;
    view.delayRevision = state.delayRevision;
    view.delayMs = state.delayMs;
    this.setWaiters(slot, state.waiters);
  }

  delete(key: string): boolean {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return false;
    this.slotOf.delete(key);
    this.setHolder(slot, null);
    this.waitersOf.delete(slot);
    this.keyOf[slot] = undefined;
    this.freeSlots.push(slot);
    return true;
  }

  clear(): void {
    this.slotOf.clear();
    this.keyOf = [];
    this.waitersOf.clear();
    this.freeSlots.length = 0;
    this.slotsUsed = 0;
    this.values.clear();
    this.holderId.fill(0);
  }

  /** Appends a waiter to the key's queue (the key must exist). */
  pushWaiter(key: string, waiter: Waiter): void {
    const slot = this.slotOf.get(key);
    if (slot === undefined) throw new Error(`pushWaiter: no key ${key}`);
    const queue = this.waitersOf.get(slot);
    if (queue === undefined) this.waitersOf.set(slot, [waiter]);
    else queue.push(waiter);
  }

  keys(): IterableIterator<string> {
    return this.slotOf.keys();
  }

  /** A fresh view per key, in insertion order. */
  *states(): Generator<KeyState> {
    for (const slot of this.slotOf.values()) yield new KeySlot(this, slot);
  }

  // ---- slot fields (for KeySlot) ------------------------------------------------------------

  /** @internal */ keyAt(slot: number): string {
    return this.keyOf[slot] as string;
  }
  /** @internal */ holderAt(slot: number): string | null {
    return this.values.valueOf(this.holderId[slot]!);
  }
  /** @internal */ setHolder(slot: number, holder: string | null): void {
    const previous = this.holderId[slot]!;
    const next = holder === null ? 0 : this.values.acquire(holder);
    this.holderId[slot] = next;
    this.values.release(previous);
  }
  /** @internal */ numberAt(field: NumberField, slot: number): number {
    return this[field][slot]!;
  }
  /** @internal */ setNumber(field: NumberField, slot: number, value: number): void {
    this[field][slot] = value;
  }
  /** @internal */ waitersAt(slot: number): Waiter[] {
    // No queue: a fresh empty array (waiters are added through pushWaiter).
    return this.waitersOf.get(slot) ?? [];
  }
  /** @internal */ setWaiters(slot: number, waiters: Waiter[]): void {
    if (waiters.length === 0) this.waitersOf.delete(slot);
    else this.waitersOf.set(slot, waiters);
  }

  private allocate(key: string): number {
    const reused = this.freeSlots.pop();
    const slot = reused ?? this.slotsUsed++;
    if (slot >= this.token.length) this.grow();
    this.keyOf[slot] = key;
    this.holderId[slot] = 0;
    for (const field of NUMBER_FIELDS) this[field][slot] = 0;
    return slot;
  }

  private grow(): void {
    const capacity = this.token.length * 2;
    const grown = <T extends Int32Array | Float64Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.holderId = grown(this.holderId, new Int32Array(capacity));
    this.token = grown(this.token, new Float64Array(capacity));
    this.leaseRevision = grown(this.leaseRevision, new Float64Array(capacity));
    this.delayRevision = grown(this.delayRevision, new Float64Array(capacity));
    this.ttlMs = grown(this.ttlMs, new Float64Array(capacity));
    this.lockDelayMs = grown(this.lockDelayMs, new Float64Array(capacity));
    this.delayMs = grown(this.delayMs, new Float64Array(capacity));
  }
}

const NUMBER_FIELDS = [
  "token",
  "leaseRevision",
  "delayRevision",
  "ttlMs",
  "lockDelayMs",
  "delayMs",
] as const;
type NumberField = (typeof NUMBER_FIELDS)[number];

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
    return this.table.numberAt("token", this.slot);
  }
  set token(value: number) {
    this.table.setNumber("token", this.slot, value);
  }
  get leaseRevision(): number {
    return this.table.numberAt("leaseRevision", this.slot);
  }
  set leaseRevision(value: number) {
    this.table.setNumber("leaseRevision", this.slot, value);
  }
  get ttlMs(): number {
    return this.table.numberAt("ttlMs", this.slot);
  }
  set ttlMs(value: number) {
    this.table.setNumber("ttlMs", this.slot, value);
  }
  get lockDelayMs(): number {
    return this.table.numberAt("lockDelayMs", this.slot);
  }
  set lockDelayMs(value: number) {
    this.table.setNumber("lockDelayMs", this.slot, value);
  }
  get delayRevision(): number {
    return this.table.numberAt("delayRevision", this.slot);
  }
  set delayRevision(value: number) {
    this.table.setNumber("delayRevision", this.slot, value);
  }
  get delayMs(): number {
    return this.table.numberAt("delayMs", this.slot);
  }
  set delayMs(value: number) {
    this.table.setNumber("delayMs", this.slot, value);
  }
  get waiters(): Waiter[] {
    return this.table.waitersAt(this.slot);
  }
}

/**
 * Holder values by id (0 = no holder), counted by the slots that hold them: a value is stored
 * once however many locks it holds, and forgotten when it holds none.
 */
class ValueInterner {
  private readonly idOf = new Map<string, number>();
  private valueById: Array<string | null> = [null];
  private refs: number[] = [0];
  private readonly freeIds: number[] = [];

  valueOf(id: number): string | null {
    return this.valueById[id]!;
  }

  acquire(value: string): number {
    let id = this.idOf.get(value);
    if (id === undefined) {
      id = this.freeIds.pop() ?? this.valueById.length;
      this.idOf.set(value, id);
      this.valueById[id] = value;
      this.refs[id] = 0;
    }
    this.refs[id]!++;
    return id;
  }

  release(id: number): void {
    if (id === 0) return;
    if (--this.refs[id]! > 0) return;
    this.idOf.delete(this.valueById[id] as string);
    this.valueById[id] = null;
    this.freeIds.push(id);
  }

  clear(): void {
    this.idOf.clear();
    this.valueById = [null];
    this.refs = [0];
    this.freeIds.length = 0;
  }
}
