// Who may do what: principals, their grants (a role over a key scope) and the one matcher that
// decides every request. Pure: the auth file parser builds these, the authorizing handler asks.

/**
 * - `lock`: acquire (also waiting), refresh, release, cancel and get on keys in scope.
 * - `read`: get, watch and list on keys in scope (a prefix watch or list needs a `prefix*` scope
 *   covering the whole prefix, or `*`).
 * - `admin`: everything, on every key: membership changes, force release, values of any holder.
 * Every authenticated principal may ask `status` and list `members` (no key, no value in them).
 */
export type Role = "lock" | "read" | "admin";

export const ROLES: readonly Role[] = ["lock", "read", "admin"];

/** One grant. `scope` is `*` (every key), `prefix*` (keys starting with prefix) or one exact key. */
export interface Grant {
  role: Role;
  scope: string;
}

export interface Principal {
  /** The name in the auth file; also a client certificate's CN that maps to it. */
  name: string;
  grants: readonly Grant[];
}

/** What a request needs: a role among `roles` whose scope covers `key` (null: no key). */
export type Operation =
  | "acquire"
  | "refresh"
  | "release"
  | "cancel"
  | "get"
  | "status"
  | "members"
  | "addMember"
  | "promoteMember"
  | "removeMember"
  | "forceRelease"
  | "watch"
  | "list";

const ROLES_OF: Readonly<Record<Operation, readonly Role[] | "anyone">> = {
  acquire: ["lock"],
  refresh: ["lock"],
  release: ["lock"],
  cancel: ["lock"],
  get: ["lock", "read"],
  status: "anyone",
  members: "anyone",
  addMember: [],
  promoteMember: [],
  removeMember: [],
  forceRelease: [],
  watch: ["lock", "read"],
  list: ["lock", "read"],
};

/** Whether `scope` covers `key`. */
export function scopeCovers(scope: string, key: string): boolean {
  if (scope.endsWith("*")) return key.startsWith(scope.slice(0, -1));
  return key === scope;
}

/** Whether `principal` may run `operation` (on `key`, for key operations). Admin may do anything. */
export function allows(principal: Principal, operation: Operation, key: string | null): boolean {
  if (principal.grants.some((grant) => grant.role === "admin")) return true;
  const roles = ROLES_OF[operation];
  if (roles === "anyone") return true;
  return principal.grants.some(
    (grant) => roles.includes(grant.role) && (key === null || scopeCovers(grant.scope, key)),
  );
}

/** Whether `scope` covers every key that starts with `prefix`. */
export function scopeCoversPrefix(scope: string, prefix: string): boolean {
  return scope.endsWith("*") && prefix.startsWith(scope.slice(0, -1));
}

/** Whether `principal` may run `operation` on every key starting with `prefix`. */
export function allowsPrefix(principal: Principal, operation: Operation, prefix: string): boolean {
  if (isAdmin(principal)) return true;
  const roles = ROLES_OF[operation];
  if (roles === "anyone") return true;
  return principal.grants.some(
    (grant) => roles.includes(grant.role) && scopeCoversPrefix(grant.scope, prefix),
  );
}

export function isAdmin(principal: Principal): boolean {
  return principal.grants.some((grant) => grant.role === "admin");
}
