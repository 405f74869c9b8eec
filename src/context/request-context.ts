import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import type { Access } from '../auth/access';
import type { Scope } from '../auth/scopes';
import type { TenantScope } from '../db/tenant-scope';
import type { Keyring } from '../secrets/keyring';
import type { Loaders } from './loaders';

/** Who an audited change is attributed to (ledger entries, promotions): the token's subject and the request. */
export interface Actor {
  subject: string;
  requestId: string;
}

export interface RequestContextInit {
  requestId: string;
  log: Logger;
  principal: Principal;
  scopes: ReadonlySet<Scope | string>;
  access: Access;
  scope: TenantScope;
  loaders: Loaders;
  keyring: Keyring;
  /** The request's W3C trace id (also `res.locals.traceId` and the `traceparent` response header). */
  traceId?: string;
}

/**
 * Everything one authenticated tenant request carries, built once by the transport (GraphQL today:
 * graphql/tenant-plugin.ts, once the caller's row is known; REST next) and passed FIRST to every service
 * method. Services need nothing else from the transport, and know nothing of GraphQL.
 *
 * - `principal`: what the verified token proves (never rewritten).
 * - `scopes`: the effective scopes, the token's scopes within what the caller's org role allows (the
 *   token's own when the caller has no role: org-wide platform keys).
 * - `access`: what the database says about the caller (org role, all-workspaces grant, key owner).
 * - `scope`: the request's one transaction under row-level security (db/tenant-scope.ts).
 * - `loaders`: the request's DataLoaders (created per request, dropped with it).
 * - `keyring`, `requestId`, `log`, `actor` (for audit and ledgers).
 *
 * Like Vendure's RequestContext, it is a plain value object: immutable, cheap, and the only way a service
 * learns who is asking.
 */
export class RequestContext {
  readonly requestId: string;
  readonly log: Logger;
  readonly principal: Principal;
  readonly scopes: ReadonlySet<Scope | string>;
  readonly access: Access;
  readonly scope: TenantScope;
  readonly loaders: Loaders;
  readonly keyring: Keyring;
  readonly actor: Actor;
  readonly traceId: string | undefined;

  constructor(init: RequestContextInit) {
    this.requestId = init.requestId;
    this.log = init.log;
    this.principal = init.principal;
    this.scopes = init.scopes;
    this.access = init.access;
    this.scope = init.scope;
    this.loaders = init.loaders;
    this.keyring = init.keyring;
    this.traceId = init.traceId;
    this.actor = { subject: init.principal.subject, requestId: init.requestId };
    Object.freeze(this);
  }

  /** The organization (tenant) of the request. */
  get orgId(): string {
    return this.scope.orgId;
  }

  hasScope(scope: Scope): boolean {
    return this.scopes.has(scope);
  }
}
