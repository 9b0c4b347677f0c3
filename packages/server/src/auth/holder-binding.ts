// With an auth file, the lock table stores a holder as "<principal>\u0000<value>": the grant is
// bound to the principal that acquired it. Another principal naming the same value names another
// holder, so it can neither take over, refresh nor release the lock; any node can tell who holds
// a key from the replicated state alone. Principal names contain no NUL, so the first NUL ends
// the name and the binding is one-to-one.
const SEPARATOR = "\u0000";

export function bindValue(principal: string, value: string): string {
  return principal + SEPARATOR + value;
}

/** The principal and value of a stored holder; principal null for a value stored unbound. */
export function holderOf(stored: string): { principal: string | null; value: string } {
  const at = stored.indexOf(SEPARATOR);
  if (at <= 0) return { principal: null, value: stored };
  return { principal: stored.slice(0, at), value: stored.slice(at + 1) };
}
