/**
 * Whether two plain data values (what JSON carries: strings, numbers, booleans, null, arrays and
 * plain objects) are equal field by field, as their JSON texts would be but without building
 * them: the simulator compares every member's apply result with the first member's, once per
 * applied entry per member. Properties whose value is undefined count as absent, as in JSON.
 */
export function samePlainData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    // NaN equals NaN here (JSON writes both as null); other unequal primitives differ.
    return typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!samePlainData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let fields = 0;
  for (const name in x) {
    const value = x[name];
    if (value === undefined) continue;
    if (!samePlainData(value, y[name])) return false;
    fields++;
  }
  for (const name in y) if (y[name] !== undefined) fields--;
  return fields === 0;
}
