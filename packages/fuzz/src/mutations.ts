// Structured mutations of a message object: each names a field by its position among the
// object's leaf paths (so a mutation stays meaningful whatever the message) and what to put there.
// `breaks` says whether the result can no longer be a valid message: only unknown fields keep it.
import fc from "fast-check";

export type MutationKind =
  "wrongType" | "badNumber" | "delete" | "deepNest" | "hugeString" | "unknownField" | "typeSwap";

export interface Mutation {
  kind: MutationKind;
  /** Index (modulo the count) into the message's leaf paths. */
  at: number;
  /** Which replacement of the kind's pool (modulo its size), or a size for deepNest/hugeString. */
  variant: number;
}

/** Values that no field of any dlock message accepts where another type is expected. */
const WRONG_TYPES: readonly unknown[] = [
  "x",
  "",
  true,
  false,
  null,
  [],
  [1, 2],
  {},
  { a: 1 },
  new Uint8Array([1, 2, 3]),
  0,
  -1,
];

/** Numbers that are not non-negative safe integers (or are, but absurdly large). */
export const BAD_NUMBERS: readonly number[] = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -1,
  -(2 ** 53),
  0.5,
  1.5,
  2 ** 53,
  2 ** 64,
  Number.MAX_VALUE,
  -0.000001,
];

const TYPE_NAMES: readonly string[] = [
  "hello",
  "acquire",
  "refresh",
  "release",
  "cancel",
  "get",
  "status",
  "members",
  "addMember",
  "ok",
  "error",
  "raft",
  "append",
  "vote",
  "__proto__",
  "constructor",
  "",
];

export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<MutationKind>(
    "wrongType",
    "badNumber",
    "delete",
    "deepNest",
    "hugeString",
    "unknownField",
    "typeSwap",
  ),
  at: fc.nat({ max: 63 }),
  variant: fc.nat({ max: 1_000_000 }),
});

type Path = Array<string | number>;

function leafPaths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (value instanceof Uint8Array || typeof value !== "object" || value === null) {
    if (prefix.length > 0) out.push(prefix);
    return out;
  }
  const entries = Array.isArray(value)
    ? value.map((v, i) => [i, v] as const)
    : Object.entries(value as Record<string, unknown>);
  if (entries.length === 0 && prefix.length > 0) out.push(prefix);
  for (const [key, child] of entries) leafPaths(child, [...prefix, key], out);
  return out;
}

function deepNest(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function clone(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(clone);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)]));
  }
  return value;
}

function setAt(
  root: Record<string, unknown>,
  path: Path,
  replace: (old: unknown) => unknown,
): void {
  let parent: unknown = root;
  for (const key of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[key];
  const last = path.at(-1);
  if (last === undefined) throw new RangeError("setAt: an empty path names no field");
  const container = parent as Record<string | number, unknown>;
  const next = replace(container[last]);
  if (next === DELETE) {
    if (Array.isArray(container)) container.splice(last as number, 1);
    else delete container[last];
  } else container[last] = next;
}

const DELETE = Symbol("delete");

/** items[n mod length]: how a drawn number picks from a list. Throws on an empty list. */
export function nthOf<T>(items: readonly T[], n: number): T {
  const item = items[n % items.length];
  if (item === undefined) throw new RangeError(`cannot pick item ${n} of an empty list`);
  return item;
}

/** `message` with `mutations` applied in order (the input is not modified). */
export function applyMutations(
  message: Record<string, unknown>,
  mutations: readonly Mutation[],
): Record<string, unknown> {
  const result = clone(message) as Record<string, unknown>;
  for (const mutation of mutations) {
    const paths = leafPaths(result);
    const { variant } = mutation;
    if (mutation.kind === "unknownField") {
      // Pool values are copied: a later mutation may write inside them.
      result[`unknown${variant % 7}`] = clone(WRONG_TYPES[variant % WRONG_TYPES.length]);
      continue;
    }
    if (mutation.kind === "typeSwap") {
      result.type = TYPE_NAMES[variant % TYPE_NAMES.length];
      continue;
    }
    if (paths.length === 0) continue;
    const path = nthOf(paths, mutation.at);
    setAt(result, path, (old) => {
      switch (mutation.kind) {
        case "wrongType": {
          // Never "replace" with a value of the same type: that could stay valid.
          const pool = WRONG_TYPES.filter(
            (v) => typeof v !== typeof old || Array.isArray(v) !== Array.isArray(old),
          );
          return clone(pool[variant % pool.length]);
        }
        case "badNumber":
          return BAD_NUMBERS[variant % BAD_NUMBERS.length];
        case "delete":
          return DELETE;
        case "deepNest":
          // A nested value where a field is expected. Kept shallow: mutations may nest it again,
          // and msgpackr packs recursively. Bodies deep enough to hurt a recursive reader are
          // built as raw bytes (deepBody in wire-input.ts).
          return deepNest(1 + (variant % 64));
        case "hugeString":
          return "\u00e9".repeat(1 + (variant % 300_000));
        default:
          return old;
      }
    });
  }
  return result;
}

/** Whether applying `mutations` could leave a valid message (only unknown fields do). */
export function mutationsKeepValidity(mutations: readonly Mutation[]): boolean {
  return mutations.every((m) => m.kind === "unknownField");
}
