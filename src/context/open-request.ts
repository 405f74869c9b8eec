import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import { ORG_ROLE_SCOPES } from '../auth/roles';
import { TenantScope, type Speculative } from '../db/tenant-scope';
import { OrgArchivedError, OrgSuspendedError, UnauthenticatedError } from '../errors';
import { OrganizationStatus } from '../modules/organization/organization.entity';
import type { Keyring } from '../secrets/keyring';
import { Loaders } from './loaders';
import { RequestContext } from './request-context';
import type { RequestLifecycle } from './request-lifecycle';
import { currentFacts, noteCaller } from '../request-scope';
import type { RequestTrace } from '../tracing/request-trace';

export interface OpenRequestOptions {
  dataSource: DataSource;
  lifecycle: RequestLifecycle;
  principal: Principal;
  /** Changes nothing (queries, GET): the transaction is READ ONLY and a suspended organization may read. */
  readOnly: boolean;
  requestId: string;
  log: Logger;
  keyring: Keyring;
  /** Epoch ms after which no statement starts (REQUEST_TIMEOUT_MS). */
  deadline: number;
  settleTimeoutMs: number;
  /** Round trips this request already made elsewhere (a known-document attempt): counted in `statements`. */
  priorStatements?: number;
  /** The request's trace (src/tracing): decided here by the organization's configuration, from the first statement. */
  trace?: RequestTrace;
  /**
   * A speculative read for the opening round trip (the compiled read path, src/graphql/sql-plan): sent
   * behind the caller row in the same message; its rows stay in the scope (TenantScope.takeSpeculative)
   * and only a caller that passed every check below may take them.
   */
  speculative?: Speculative;
}

/**
 * Opens an authenticated tenant request, for any transport (GraphQL's tenant plugin today, REST next):
 * the tenant scope through the request's lifecycle, then the caller's row in the request's first
 * statement, and only then the RequestContext, so access is never a placeholder. Refusals are domain
 * errors (each transport gives them its shape): an unknown organization, a revoked key or a former member
 * is UnauthenticatedError (the token was sent); an archived organization refuses everything, a suspended
 * one refuses changes.
 */
export async function openRequest(options: OpenRequestOptions): Promise<RequestContext> {
  const { principal } = options;
  const scope = options.lifecycle.begin(
    () =>
      new TenantScope(
        options.dataSource,
        {
          orgId: principal.orgId,
          userId: principal.kind === 'user' ? principal.subject : (principal.keyOwner ?? null),
          kind: principal.kind,
          apiKeyId: principal.kind === 'api_key' ? principal.subject.slice('apikey:'.length) : null,
        },
        options.readOnly,
        {
          deadline: options.deadline,
          settleTimeoutMs: options.settleTimeoutMs,
          priorStatements: options.priorStatements,
        },
      ),
  );
  // For the access log (src/request-scope.ts): who called, and the scope whose statements it counts.
  noteCaller(principal);
  const facts = currentFacts();
  if (facts) facts.scope = scope;
  if (options.speculative) scope.speculate(options.speculative);
  const loaders = new Loaders(scope);
  const caller = await loaders.organization.caller();
  const tokenSent = { tokenSent: true };
  const trace = options.trace;
  if (trace && caller.organization) {
    // The organization's trace configuration came with its row in the opening round trip: the decision costs
    // no statement, and a configuration change applies from the next request on every replica.
    const recording = trace.decide(caller.organization, {
      kind: principal.kind,
      userId: scope.identity.userId,
      apiKeyId: scope.identity.apiKeyId ?? null,
    });
    if (recording) {
      if (scope.openingNs) {
        trace.opening(scope.openingNs[0], scope.openingNs[1]);
        // The compiled read path's statement shared the opening round trip: its parameterised text.
        const planned = scope.speculativeTraced;
        if (planned) trace.statement(planned, scope.openingNs[0], scope.openingNs[1], false, 2);
      }
      scope.statementSink = (sql, started, ended, failed, batched) =>
        trace.statement(sql, started, ended, failed, batched);
    }
  }
  if (!caller.organization) throw new UnauthenticatedError('The organization of this token does not exist', tokenSent);
  if (principal.kind === 'api_key' && !caller.apiKeyActive) {
    // Checked on every request in the request's first statement: a revoked key's tokens stop at once,
    // on every replica (the database is the shared state).
    throw new UnauthenticatedError(
      'The API key of this token has been revoked or has expired, or its owner has left the organization',
      tokenSent,
    );
  }
  if (principal.kind === 'user' && !caller.orgRole) {
    // Membership in the database decides: a removed user's unexpired token is worthless.
    throw new UnauthenticatedError('You are not a member of this organization', tokenSent);
  }
  if (caller.organization.status === OrganizationStatus.ARCHIVED) throw new OrgArchivedError();
  if (caller.organization.status === OrganizationStatus.SUSPENDED && !options.readOnly) throw new OrgSuspendedError();
  // Effective scopes: what the token asks for, within what the role allows. The principal stays what the
  // token proves.
  const allowed = caller.orgRole ? new Set<string>(ORG_ROLE_SCOPES[caller.orgRole]) : null;
  return new RequestContext({
    requestId: options.requestId,
    log: options.log,
    principal,
    scopes: allowed ? new Set([...principal.scopes].filter((s) => allowed.has(s))) : principal.scopes,
    access: {
      kind: principal.kind,
      // An API key that answers to a member acts with that member's roles and visibility; only org-wide
      // keys (made by the platform) have none and administer every workspace.
      userId: scope.identity.userId,
      orgRole: caller.orgRole,
      allWorkspacesRole: caller.allWorkspacesRole,
    },
    scope,
    loaders,
    keyring: options.keyring,
    traceId: trace?.traceId,
  });
}
