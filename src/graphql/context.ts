import type { Logger } from 'pino';
import { createParameterDecorator } from 'type-graphql';
import type { Principal } from '../auth/principal';
import type { RequestContext } from '../context/request-context';
import type { RequestLifecycle } from '../context/request-lifecycle';
import { unauthenticated } from './errors';
import type { RequestTrace } from '../tracing/request-trace';
import type { Keyring } from '../secrets/keyring';
import type { BoundPlan } from './sql-plan/planner';
import type { RequestFacts } from '../request-scope';
import type { KnownAttempt } from './known-documents';

/**
 * The GraphQL transport's context. `request` (the RequestContext services take first) is built by the
 * tenant plugin once the operation is known and the caller's row is loaded, and only for an authenticated
 * caller; the auth directives guarantee that any field that needs it has one.
 */
export interface GatewayContext {
  requestId: string;
  log: Logger;
  /** What the token proves, or null without a token. Never rewritten (effective scopes: request.scopes). */
  readonly principal: Principal | null;
  /** Seals and opens secrets at rest (cloud credentials, connector secrets). */
  keyring: Keyring;
  /** The owner of the request's tenant scope, shared with the HTTP layer (see RequestLifecycle). */
  lifecycle: RequestLifecycle;
  request?: RequestContext;
  /** The request's trace (src/tracing/request-trace.ts): always present on /graphql. */
  trace?: RequestTrace;
  /**
   * The compiled read path (src/graphql/sql-plan): the planned statement that rode in the opening and its
   * rows, set by the tenant plugin only once openRequest passed every caller check; the executor answers
   * from it when `plannedData` accepts it.
   */
  sqlPlan?: { plan: BoundPlan; rows: Record<string, unknown>[] | undefined };
  /** What the access log writes for this request (src/request-scope.ts). */
  facts?: RequestFacts;
  /** The known-document path tried this request first and passed it on (src/graphql/known-documents.ts). */
  knownAttempt?: KnownAttempt;
  /** The client named application/json in Accept: the legacy status rule (graphql/http.ts httpStatusPlugin). */
  legacyJson?: boolean;
}

export function requestOf(context: GatewayContext): RequestContext {
  if (!context.request) throw unauthenticated();
  return context.request;
}

/**
 * The resolver's RequestContext: `@RequestCtx() ctx: RequestContext`, passed first to services.
 * (type-graphql's createParameterDecorator, as in its examples/middlewares-custom-decorators.)
 */
export function RequestCtx(): ReturnType<typeof createParameterDecorator> {
  return createParameterDecorator<GatewayContext>(({ context }) => requestOf(context));
}
