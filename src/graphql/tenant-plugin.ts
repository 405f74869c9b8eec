import type { ApolloServerPlugin } from '@apollo/server';
import type { DataSource } from 'typeorm';
import { OPERATION_LABELS, type Metrics } from '../metrics';
import type { GatewayContext } from './context';
import { ErrorCode, errorForLog, OUTAGE_CODES, outageOf, RETRY_AFTER_SECONDS, toGraphQLError } from './errors';
import { DomainError } from '../errors';
import { openRequest } from '../context/open-request';
import { withFacts } from '../request-scope';
import type { SqlPlanner, BoundPlan } from './sql-plan/planner';
import type { KnownDocuments } from './known-documents';

interface TenantPluginOptions {
  dataSource: DataSource;
  metrics: Metrics;
  exposeSqlStatementCount: boolean;
  /** REQUEST_TIMEOUT_MS: no statement of a request starts after this long. */
  requestTimeoutMs: number;
  /** How long the end of a scope waits for in-flight work before it destroys the connection as in doubt. */
  settleTimeoutMs: number;
  /** The compiled read path (GRAPHQL_SQL_PLAN, src/graphql/sql-plan), when on. */
  sqlPlanner?: SqlPlanner;
  /** Where planned documents are remembered for the known-document path (src/graphql/known-documents.ts). */
  knownDocuments?: KnownDocuments;
}

/**
 * The request lifecycle around resolvers:
 * - once the operation is known, open the tenant scope (read-only for queries) and check the
 *   organization: it must exist; archived refuses everything, suspended refuses mutations;
 * - before the response leaves, commit and release the connection (always, whatever happened);
 * - an outage (SERVICE_UNAVAILABLE, TIMEOUT: see outageOf in errors.ts) anywhere in the answer rolls the
 *   whole request back and answers HTTP 503 with Retry-After, so a 503 never carries a committed change
 *   and retrying it is safe (as Hasura does, one request = one transaction);
 * - stamp every error with the request id and log the ones clients do not see in detail.
 *
 * The scope is owned by the request's RequestLifecycle (context/request-lifecycle.ts): this plugin opens
 * it through openRequest (context/open-request.ts, transport-neutral: the RequestContext comes from there)
 * and normally ends it (`end('answered' | 'failed')`); when the client goes away first, the
 * HTTP close handler (server.ts) ends it (`end('client-gone')`): statements are refused from then on,
 * in-flight work is awaited, and the transaction is rolled back. Either way the connection is touched by
 * exactly one party at a time.
 */
export function tenantPlugin(options: TenantPluginOptions): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue: context }) {
      const started = process.hrtime.bigint();
      const deadline = Date.now() + options.requestTimeoutMs;
      let operationType = 'unknown';
      // The operation-name label, decided once the document parsed and validated (didResolveOperation runs
      // only then): names of documents that fail are never counted, so garbage cannot fill the cap.
      let operationLabel: string = OPERATION_LABELS.invalid;
      return {
        async didResolveOperation({ operation, document, request, source }) {
          if (!operation) return;
          operationType = operation.operation;
          const name = operation.name?.value ?? null;
          operationLabel = options.metrics.operationNames.label(name, context.principal !== null);
          if (context.facts) context.facts.operation = { type: operationType, name };
          if (!context.principal) return;
          const principal = context.principal;
          const write = operation.operation === 'mutation';
          const key = request.operationName ?? null;
          // The compiled read path: decided before the opening (against the token's scopes; the executor
          // checks again against the effective ones), so its statement rides in the opening round trip. A
          // mutation runs its resolvers here, always: a planned write (src/graphql/sql-plan/writes.ts) is only
          // planned to be remembered, until it is.
          let plan: BoundPlan | null = null;
          if (
            options.sqlPlanner &&
            (operation.operation === 'query' ||
              (write && options.knownDocuments && !options.knownDocuments.lookup(source, key)))
          ) {
            try {
              const bound = options.sqlPlanner.plan(
                document,
                operation,
                request.operationName,
                request.variables,
                principal.scopes,
                principal.orgId,
                write
                  ? { actor: principal.subject, actorKind: principal.kind, requestId: context.requestId }
                  : undefined,
              );
              // Parsed and validated by Apollo, and plannable: the next request with this text may take the
              // known-document path (its caller checked again there, from scratch).
              if (bound) options.knownDocuments?.remember(source, key, document, operation);
              if (!write) plan = bound;
            } catch (error) {
              // A planner defect must never fail a request: the normal path answers it.
              context.log.error({ requestId: context.requestId, err: errorForLog(error) }, 'sql plan failed');
            }
          }
          try {
            // The known-document path met an outage for this request just now: reported, not met again.
            if (context.knownAttempt?.outage) throw context.knownAttempt.outage;
            // openRequest notes the caller and its scope in the facts (read before its first await).
            context.request = await withFacts(context.facts, () =>
              openRequest({
                dataSource: options.dataSource,
                lifecycle: context.lifecycle,
                principal,
                readOnly: operation.operation !== 'mutation',
                requestId: context.requestId,
                log: context.log,
                keyring: context.keyring,
                deadline,
                settleTimeoutMs: options.settleTimeoutMs,
                priorStatements: context.knownAttempt?.statements,
                trace: context.trace,
                ...(plan ? { speculative: { sql: plan.sql, traced: plan.traced, prepared: plan.prepared } } : {}),
              }),
            );
            // Only now, every caller check passed: the rows may reach the executor.
            if (plan) context.sqlPlan = { plan, rows: context.request.scope.takeSpeculative()?.rows };
          } catch (error) {
            throw error instanceof DomainError ? toGraphQLError(error) : error;
          }
        },

        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            if (context.lifecycle.clientGone) continue; // nobody is listening; the scope rolls back
            const outage = outageOf(error.originalError ?? error);
            if (outage) {
              context.log.warn(
                { requestId: context.requestId, code: outage.code, err: errorForLog(error.originalError ?? error) },
                'database outage',
              );
            } else if (!code || code === ErrorCode.INTERNAL_SERVER_ERROR) {
              context.log.error(
                { requestId: context.requestId, err: errorForLog(error.originalError ?? error), path: error.path },
                'graphql error',
              );
            }
          }
        },

        async willSendResponse({ response }) {
          const scope = context.lifecycle.scope;
          const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const isOutage = (e: { extensions?: Record<string, unknown> }) =>
            OUTAGE_CODES.has(e.extensions?.code as string);
          if (scope) {
            const outage = Boolean(body?.errors?.some(isOutage));
            try {
              await context.lifecycle.end(outage ? 'failed' : 'answered');
              // Rolled back: a change reported as done would be a lie.
              if (outage && !scope.readOnly && body) body.data = null;
            } catch (error) {
              const endOutage = outageOf(error);
              if (endOutage)
                context.log.warn(
                  { requestId: context.requestId, code: endOutage.code, err: errorForLog(error) },
                  'database outage at commit',
                );
              else context.log.error({ requestId: context.requestId, err: errorForLog(error) }, 'commit failed');
              if (body) {
                body.data = null;
                body.errors = [
                  endOutage
                    ? { message: endOutage.message, extensions: { code: endOutage.code } }
                    : { message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } },
                ];
              }
            }
            options.metrics.sqlStatements.observe(scope.statements);
            if (scope.retries > 0)
              context.log.warn(
                { requestId: context.requestId, retries: scope.retries },
                'mutation retried after a deadlock or serialization failure',
              );
            if (options.exposeSqlStatementCount && body) {
              body.extensions = { ...body.extensions, sql: { statements: scope.statements, retries: scope.retries } };
            }
          }
          if (body?.errors?.some(isOutage)) {
            // An outage, not a bug and not the client's fault: 503 and when to come back.
            response.http.status = 503;
            response.http.headers.set('retry-after', String(RETRY_AFTER_SECONDS));
          }
          if (body?.errors) {
            body.errors = body.errors.map((e) => ({
              ...e,
              extensions: { ...e.extensions, requestId: context.requestId },
            }));
          }
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          options.metrics.graphqlOperations.observe(
            { operation: operationLabel, type: operationType, outcome: body?.errors ? 'error' : 'ok' },
            seconds,
          );
        },
      };
    },
  };
}
