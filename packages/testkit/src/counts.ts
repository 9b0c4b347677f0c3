/**
 * Adds a summary of counts into another of the same shape, field by field: numbers add (a field
 * whose name ends in "Max" keeps the larger), nested records add key by key (a key `into` lacks
 * counts from 0). Summaries of batches merge this way, so a new counter needs no merge code.
 */
export function mergeCounts<T extends object>(into: T, from: Readonly<T>): void {
  const target = into as Record<string, unknown>;
  for (const [key, value] of Object.entries(from)) {
    if (typeof value === "number") {
      const current = (target[key] as number | undefined) ?? 0;
      target[key] = key.endsWith("Max") ? Math.max(current, value) : current + value;
    } else if (typeof value === "object" && value !== null) {
      target[key] ??= {};
      mergeCounts(target[key] as object, value as object);
    }
  }
}
