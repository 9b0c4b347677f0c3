// Authorization in front of the lock and membership services: every request is checked against
// the connection's principal (PERMISSION_DENIED naming the operation and the key), holder values
// are bound to the principal (see holder-binding.ts), `get` hides values from everyone but the
// holder's principal and admins, and an admin's force release (of a lock, or of a semaphore's
// permits) is served and audited here.
import { InvalidArgumentError, PermissionDeniedError } from "@dlock/protocol";
import type {
  ClientRequest,
  ForceReleaseRequest,
  ForceReleaseResult,
  GetResult,
  ListResult,
  RwInfo,
  SemaphoreInfo,
  ReleaseResult,
  WatchResult,
} from "@dlock/protocol";
import type {
  ClientRequestContext,
  ClientRequestHandler,
  ClientResult,
} from "../client-server/client-request-handler.js";
import { LogOnce } from "../transport/log-once.js";
import type { Logger } from "@dlock/protocol";
import { allows, allowsPrefix, isAdmin } from "./grants.js";
import type { Principal } from "./grants.js";
import { bindValue, holderOf } from "./holder-binding.js";

export interface AuthorizingHandlerOptions {
  /** The services that serve what is allowed. */
  inner: ClientRequestHandler;
  /**
   * The lock table (a LockStateMachine): a bound value (principal + value) must fit the value
   * limit in force, which is replicated state (design §2.6), not this node's flag.
   */
  table: { readonly limits: { readonly valueBytesMax: number } };
  logger: Logger;
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, "utf8");

function keyOf(request: ClientRequest): string | null {
  if (request.type === "list") return request.prefix;
  return "key" in request ? request.key : null;
}

/** Whether `principal` may make `request`: prefix requests need the whole prefix in scope. */
function permitted(principal: Principal, request: ClientRequest): boolean {
  if (request.type === "list") return allowsPrefix(principal, "list", request.prefix);
  if (request.type === "watch" && request.prefix === true) {
    return allowsPrefix(principal, "watch", request.key);
  }
  // A semaphore's permits and a reader-writer lock are taken under the same grant as a lock.
  const operation =
    request.type === "semaphoreAcquire" || request.type === "rwAcquire" ? "acquire" : request.type;
  return allows(principal, operation, keyOf(request));
}

export class AuthorizingHandler implements ClientRequestHandler {
  private readonly options: AuthorizingHandlerOptions;
  private readonly deniedLogged = new LogOnce();

  constructor(options: AuthorizingHandlerOptions) {
    this.options = options;
  }

  async handle(request: ClientRequest, context: ClientRequestContext): Promise<ClientResult> {
    const principal = context.principal;
    if (principal !== null && !permitted(principal, request)) {
      const key = keyOf(request);
      if (this.deniedLogged.first(principal.name, request.type)) {
        this.options.logger.warn(
          { principal: principal.name, operation: request.type, key, clientId: context.clientId },
          "permission denied (logged once per principal and operation)",
        );
      }
      throw new PermissionDeniedError(request.type, key);
    }
    switch (request.type) {
      case "acquire":
      case "semaphoreAcquire":
      case "rwAcquire":
      case "refresh":
      case "release":
      case "cancel":
        return this.options.inner.handle(
          principal === null
            ? request
            : { ...request, value: this.bound(principal, request.value) },
          context,
        );
      case "get":
      case "watch":
      case "list": {
        const result = await this.options.inner.handle(request, context);
        return principal === null ? result : redacted(request.type, result, principal);
      }
      case "forceRelease":
        return this.forceRelease(request, context);
      default:
        return this.options.inner.handle(request, context);
    }
  }

  connectionClosed(connectionId: number): void {
    this.options.inner.connectionClosed?.(connectionId);
  }

  private bound(principal: Principal, value: string): string {
    const bound = bindValue(principal.name, value);
    const max = this.options.table.limits.valueBytesMax;
    if (utf8Bytes(bound) > max) {
      throw new InvalidArgumentError(
        "value",
        `must be at most ${max - utf8Bytes(principal.name) - 1} bytes for "${principal.name}" (the server stores the principal with the value, ${max} bytes in all)`,
      );
    }
    return bound;
  }

  /**
   * Reads the holder on the leader (linearizable), then releases exactly that grant through the
   * log, as its holder would: a grant that changed in between is not touched.
   */
  private async forceRelease(
    request: ForceReleaseRequest,
    context: ClientRequestContext,
  ): Promise<ForceReleaseResult> {
    const { inner, logger } = this.options;
    const info = (await inner.handle(
      { type: "get", id: request.id, key: request.key },
      context,
    )) as GetResult;
    if (info.semaphore !== undefined)
      return this.forceReleasePermits(request, context, info.semaphore);
    const token = info.fencingToken;
    if (!info.held || info.value === null || token === null) {
      return { released: false, fencingToken: null };
    }
    if (request.token !== undefined && request.token !== token) {
      return { released: false, fencingToken: null };
    }
    const released = (await inner.handle(
      { type: "release", id: request.id, key: request.key, value: info.value, token },
      context,
    )) as ReleaseResult;
    const holder = holderOf(info.value);
    logger.warn(
      {
        audit: "forceRelease",
        principal: context.principal?.name ?? null,
        clientId: context.clientId,
        key: request.key,
        token,
        holder: holder.principal,
        holderValue: holder.value,
        released: released.released,
      },
      released.released ? "force release freed a lock" : "force release found the grant gone",
    );
    return { released: released.released, fencingToken: released.released ? token : null };
  }

  /**
   * Releases every holder of a semaphore key (with `token`, those of that grant) through the log,
   * as each holder would; a holder that changed in between is not touched. Audited in one line.
   */
  private async forceReleasePermits(
    request: ForceReleaseRequest,
    context: ClientRequestContext,
    semaphore: SemaphoreInfo,
  ): Promise<ForceReleaseResult> {
    const { inner, logger } = this.options;
    const chosen = semaphore.holders.filter(
      (h) => h.value !== null && (request.token === undefined || h.fencingToken === request.token),
    );
    const freed: typeof chosen = [];
    for (const holder of chosen) {
      const released = (await inner.handle(
        {
          type: "release",
          id: request.id,
          key: request.key,
          value: holder.value!,
          token: holder.fencingToken,
        },
        context,
      )) as ReleaseResult;
      if (released.released) freed.push(holder);
    }
    const fencingTokens = [...new Set(freed.map((h) => h.fencingToken))].sort((a, b) => a - b);
    const permitsFreed = freed.reduce((sum, h) => sum + h.count, 0);
    logger.warn(
      {
        audit: "forceRelease",
        principal: context.principal?.name ?? null,
        clientId: context.clientId,
        key: request.key,
        token: request.token ?? null,
        holders: freed.map((h) => {
          const holder = holderOf(h.value!);
          return { principal: holder.principal, value: holder.value, token: h.fencingToken };
        }),
        permitsFreed,
      },
      freed.length > 0
        ? "force release freed semaphore permits"
        : "force release found no semaphore holder to free",
    );
    return {
      released: freed.length > 0,
      fencingToken: fencingTokens.length === 0 ? null : fencingTokens[fencingTokens.length - 1]!,
      semaphore: { permitsFreed, fencingTokens },
    };
  }
}

/** A stored holder value as `principal` may see it: its own (or any, for an admin), else null. */
function visibleValue(stored: string | null, principal: Principal): string | null {
  if (stored === null) return null;
  const holder = holderOf(stored);
  return isAdmin(principal) || holder.principal === principal.name ? holder.value : null;
}

/** A read's result as `principal` may see it: holder values only of its own grants (any, for an admin). */
function redacted(
  type: "get" | "watch" | "list",
  result: ClientResult,
  principal: Principal,
): ClientResult {
  const visible = (stored: string | null): string | null => visibleValue(stored, principal);
  switch (type) {
    case "get": {
      const get = result as GetResult;
      return shownHolders({ ...get, value: visible(get.value) }, visible);
    }
    case "watch": {
      const watch = result as WatchResult;
      return { ...watch, events: watch.events.map((e) => ({ ...e, value: visible(e.value) })) };
    }
    case "list": {
      const list = result as ListResult;
      const locks = list.locks.map((lock) =>
        shownHolders(
          { ...lock, value: visible(lock.value), waiters: lock.waiters.map(visible) },
          visible,
        ),
      );
      return { ...list, locks };
    }
  }
}

/** A semaphore's or reader-writer key's holders (of `get` or `list`) with only visible values. */
function shownHolders<T extends { semaphore?: SemaphoreInfo; rw?: RwInfo }>(
  shown: T,
  visible: (stored: string | null) => string | null,
): T {
  const { semaphore, rw } = shown;
  if (semaphore !== undefined) {
    const holders = semaphore.holders.map((h) => ({ ...h, value: visible(h.value) }));
    shown.semaphore = { ...semaphore, holders };
  }
  if (rw !== undefined) {
    shown.rw = { ...rw, holders: rw.holders.map((h) => ({ ...h, value: visible(h.value) })) };
  }
  return shown;
}
