import type { GatewayInterface, GatewayExecutor } from '@apollo/server-gateway-interface';
import {
  defaultFieldResolver,
  execute,
  GraphQLError,
  isObjectType,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { GatewayContext } from './context';
import { plannedData } from './sql-plan/planner';

/**
 * GRAPHQL_EXECUTOR=jit: a compiled execution (graphql-jit) instead of graphql-js's interpreter, for the
 * per-field machinery that dominates the nested read W1 (bench/README.md, "Status against the issue-11
 * targets"). Apollo Server 5 accepts another executor only through its `gateway` option: `load()` hands it the
 * schema and an executor, and requestPipeline.js calls that executor where it would call `execute` — parsing,
 * the document store, our validation rules, every plugin hook (tenant, trace, status) and formatError all run
 * as before. Queries are compiled once per parsed document: the cache is a WeakMap keyed by the DocumentNode
 * Apollo's (bounded, LRU) document store reuses, so it is bounded by that store. A document graphql-jit
 * cannot compile falls back to graphql-js.
 */
export function jitGateway(schema: GraphQLSchema): GatewayInterface {
  // Finding: graphql-jit reads a field without a resolver inline and synchronously (no promise, no method
  // call), where graphql-js's default resolver awaits a promise and calls a method. Our connections'
  // `totalCount` is a lazy getter returning a promise: those fields get graphql-js's default resolver back.
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const field = type.getFields().totalCount;
    if (field && !field.resolve) field.resolve = defaultFieldResolver;
  }
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();

  const executor: GatewayExecutor = async (ctx) => {
    // The compiled read path (src/graphql/sql-plan): the whole answer was built by PostgreSQL in the opening
    // round trip; taken only when every check passed (plannedData), else the request executes as usual.
    const planned = (ctx.context as GatewayContext).sqlPlan;
    if (planned) {
      const context = ctx.context as GatewayContext;
      context.sqlPlan = undefined;
      const data = plannedData(planned.plan, planned.rows, context.request?.scopes);
      if (data) return { data } as never;
    }
    const document = ctx.document;
    const operationName = ctx.request.operationName ?? undefined;
    let perDoc = compiled.get(document);
    if (!perDoc) compiled.set(document, (perDoc = new Map()));
    const key = operationName ?? '';
    let query = perDoc.get(key);
    if (query === undefined) {
      const result = compileQuery(schema, document, operationName);
      query = isCompiledQuery(result) ? result : null;
      perDoc.set(key, query);
    }
    const interpret = async () =>
      (await execute({
        schema,
        document,
        contextValue: ctx.context,
        variableValues: ctx.request.variables,
        operationName,
      })) as ExecutionResult as never;
    if (query === null) return interpret();
    const result = await query.query(undefined, ctx.context, ctx.request.variables ?? {});
    // Finding: graphql-jit answers bad variables with `{ errors }` (no `data`, before any resolver ran) whose
    // errors carry no `nodes`, so Apollo does not recognise them as BAD_USER_INPUT and formatError masks them
    // as INTERNAL_SERVER_ERROR. graphql-js coerces them again and gives Apollo the errors it recognises.
    if (!('data' in result)) return interpret();
    // Finding: graphql-jit's own GraphQLError leaves `extensions` undefined when the resolver's error has
    // none; Apollo's enrichError reads `extensions.code` and answers such an error (a database outage among
    // them) as a bare INTERNAL_SERVER_ERROR, skipping our formatError. Errors become graphql-js's.
    if (result.errors) result.errors = result.errors.map(asGraphQLJsError);
    return result as never;
  };

  return {
    async load() {
      return { schema, executor };
    },
    // Apollo takes the schema only from this callback (SchemaManager.start subscribes before load()).
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    async stop() {},
  };
}

function asGraphQLJsError(error: GraphQLError): GraphQLError {
  const converted = new GraphQLError(error.message, {
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions ?? undefined,
  });
  // graphql-js derives locations from nodes, which graphql-jit does not keep: copy its computed ones.
  (converted as { locations?: GraphQLError['locations'] }).locations = error.locations;
  return converted;
}
