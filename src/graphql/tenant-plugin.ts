import { GraphQLError } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { DataSource } from 'typeorm';
import { TenantScope } from '../db/tenant-scope';
import type { Metrics } from '../metrics';
import type { GatewayContext } from './context';
import { ErrorCode, errorForLog, unauthenticated } from './errors';
import { Loaders } from './loaders';
import { OrganizationStatus } from '../modules/organization/organization.entity';

interface TenantPluginOptions {
  dataSource: DataSource;
  metrics: Metrics;
  exposeSqlStatementCount: boolean;
}

/**
 * The request lifecycle around resolvers:
 * - once the operation is known, open the tenant scope (read-only for queries) and check the
 *   organization: it must exist; archived refuses everything, suspended refuses mutations;
 * - before the response leaves, commit and release the connection (always, whatever happened);
 * - stamp every error with the request id and log the ones clients do not see in detail.
 */
export function tenantPlugin(options: TenantPluginOptions): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue: context }) {
      const started = process.hrtime.bigint();
      let operationType = 'unknown';
      return {
        async didResolveOperation({ operation }) {
          if (!operation) return;
          operationType = operation.operation;
          if (!context.principal) return;
          const isMutation = operation.operation === 'mutation';
          const scope = new TenantScope(options.dataSource, context.principal.orgId, !isMutation);
          context.tenant = { scope, loaders: new Loaders(scope) };
          const organization = await context.tenant.loaders.organization();
          if (!organization) throw unauthenticated('The organization of this token does not exist');
          if (organization.status === OrganizationStatus.archived) {
            throw new GraphQLError('This organization is archived', {
              extensions: { code: ErrorCode.ORG_ARCHIVED, http: { status: 403 } },
            });
          }
          if (organization.status === OrganizationStatus.suspended && isMutation) {
            throw new GraphQLError('This organization is suspended: reads work, changes are refused', {
              extensions: { code: ErrorCode.ORG_SUSPENDED, http: { status: 403 } },
            });
          }
        },

        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            if (!code || code === ErrorCode.INTERNAL_SERVER_ERROR) {
              context.log.error({ requestId: context.requestId, err: errorForLog(error.originalError ?? error), path: error.path }, 'graphql error');
            }
          }
        },

        async willSendResponse({ response }) {
          const scope = context.tenant?.scope;
          const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
          if (scope) {
            try {
              await scope.end(true);
            } catch (error) {
              context.log.error({ requestId: context.requestId, err: errorForLog(error) }, 'commit failed');
              if (body) {
                body.data = null;
                body.errors = [{ message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }];
              }
            }
            options.metrics.sqlStatements.observe(scope.statements);
            if (options.exposeSqlStatementCount && body) {
              body.extensions = { ...body.extensions, sql: { statements: scope.statements } };
            }
          }
          if (body?.errors) {
            body.errors = body.errors.map((e) => ({ ...e, extensions: { ...e.extensions, requestId: context.requestId } }));
          }
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          options.metrics.graphqlOperations.observe({ type: operationType, outcome: body?.errors ? 'error' : 'ok' }, seconds);
        },
      };
    },
  };
}
