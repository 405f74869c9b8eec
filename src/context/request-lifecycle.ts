import type { TenantScope } from '../db/tenant-scope';

/**
 * What ended a request, as the transport saw it:
 * - `answered`: the answer is ready and carries no outage: commit;
 * - `failed`: an outage (or anything that must not commit): roll back;
 * - `client-gone`: the client went away before its answer was written: refuse further statements, wait
 *   for in-flight work, roll back (TenantScope.abort);
 * - `closed`: the connection closed after the answer was written: a safety net that rolls back a scope
 *   nobody ended (a no-op after a normal end).
 */
export type RequestEnd = 'answered' | 'failed' | 'client-gone' | 'closed';

/**
 * The one owner of a request's tenant scope: the transport creates it when the request arrives, opens the
 * scope with `begin()` once it knows the operation, and every party that can end the request (the GraphQL
 * plugin before the response, the HTTP close handler when the client leaves) calls `end()`. The scope's
 * own end is memoised (db/tenant-scope.ts), so whoever comes first decides commit or rollback and the
 * connection is touched by exactly one party at a time.
 *
 * Finding: Apollo Server 5 shallow-copies the context object per request, so the plugin and the HTTP
 * layer hold different context objects; this object is shared by both, which is why it is the owner.
 */
export class RequestLifecycle {
  private current?: TenantScope;
  private gone = false;

  /** The open scope, if the request got that far. */
  get scope(): TenantScope | undefined {
    return this.current;
  }

  /** The client went away before its answer was written: nobody is listening. */
  get clientGone(): boolean {
    return this.gone;
  }

  /** Opens the request's tenant scope (once). A client that already left gets a scope that starts aborted. */
  begin(open: () => TenantScope): TenantScope {
    if (this.current) throw new Error('The request scope is already open');
    const scope = open();
    this.current = scope;
    if (this.gone) void scope.abort().catch(() => undefined);
    return scope;
  }

  /** Ends the scope (if one was opened); memoised by the scope: the first end decides. */
  end(how: RequestEnd): Promise<void> {
    if (how === 'client-gone') this.gone = true;
    const scope = this.current;
    if (!scope) return Promise.resolve();
    if (how === 'client-gone' || how === 'closed') return scope.abort();
    return scope.end(how === 'answered');
  }
}
