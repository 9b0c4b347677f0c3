// A value computed at most once per event-loop turn: requests answered in the same turn share
// it. For informational answers (status) that many clients may ask for at once.

export function oncePerTurn<T>(compute: () => T): () => T {
  let cached: { value: T } | null = null;
  const forget = () => {
    cached = null;
  };
  return () => {
    if (cached === null) {
      cached = { value: compute() };
      setImmediate(forget);
    }
    return cached.value;
  };
}
