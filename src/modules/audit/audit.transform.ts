import { defaultFieldResolver, getNamedType, type GraphQLSchema } from 'graphql';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { auditService } from './audit.service';
import type { GatewayContext } from '../../graphql/context';

/** Argument names that identify what a mutation acts on, in order of preference. Values are never recorded. */
export const TARGET_ARGS = ['id', 'userId', 'environmentId', 'componentId', 'ringId', 'workspaceId'];

function targetOf(args: Record<string, unknown>, result: unknown): string | null {
  for (const name of TARGET_ARGS) {
    if (typeof args[name] === 'string') return args[name] as string;
  }
  const input = args.input as Record<string, unknown> | undefined;
  if (result && typeof result === 'object' && typeof (result as { id?: unknown }).id === 'string')
    return (result as { id: string }).id;
  if (typeof result === 'string') return result;
  if (input && typeof input.workspaceId === 'string') return input.workspaceId;
  return null;
}

/**
 * Every mutation, wrapped once here (never by hand in resolvers): when it succeeds, one row is appended to
 * audit_log inside the change's savepoint (queued: it is sent with COMMIT or the next statement outside
 * every mutation, and dropped if the savepoint rolls back), so the change and its record commit or vanish
 * together.
 * Refused and failed mutations change nothing and are not recorded (they are logged with the request id).
 * Only names and ids are stored: inputs can carry secrets.
 */
export function auditMutations(schema: GraphQLSchema): GraphQLSchema {
  const mutationType = schema.getMutationType()?.name;
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig, fieldName, typeName) => {
      if (typeName !== mutationType) return fieldConfig;
      const resolve = fieldConfig.resolve ?? defaultFieldResolver;
      const targetType = getNamedType(fieldConfig.type).name;
      return {
        ...fieldConfig,
        async resolve(source, args, context: GatewayContext, info) {
          const request = context.request;
          if (!request) return resolve(source, args, context, info);
          // One savepoint around the change and its record: both commit, or neither does.
          return request.scope.mutation(async () => {
            const result = await resolve(source, args, context, info);
            await auditService.record(request, {
              operation: fieldName,
              targetType: targetType === 'ID' ? null : targetType,
              targetId: targetOf(args, result),
            });
            return result;
          });
        },
      };
    },
  });
}
