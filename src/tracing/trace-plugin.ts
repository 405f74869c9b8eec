import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import type { GraphQLResolveInfo } from 'graphql';
import type { GatewayContext } from '../graphql/context';

type Path = GraphQLResolveInfo['path'];

function pathKey(path: Path | undefined): string {
  let key = '';
  for (let p = path; p; p = p.prev) key = `${p.key}.${key}`;
  return key;
}

/**
 * The GraphQL phases of a request's trace (src/tracing/request-trace.ts). Before the organization is known
 * (parse, validate) it records two timestamps per phase and nothing else. Execution is instrumented only
 * for a request that is being recorded: for those, `willResolveField` is returned and a span is kept for
 * each resolver that did not finish synchronously (one that awaited a loader, a service, the database)
 * or that failed: the resolvers that do I/O, not the thousands of property reads of a large answer.
 *
 * Finding: Apollo Server 5 wraps every field resolver of the schema (once, for good) the first time any
 * request's execution listener has `willResolveField` (utils/schemaInstrumentation.js); from then on an
 * untraced request pays two property reads per field in that wrapper and nothing else (no closure, no span):
 * measured in README "Tracing".
 *
 * Placed after the tenant plugin, so `willSendResponse` sees the answer's final errors.
 */
export function tracePlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue }): Promise<GraphQLRequestListener<GatewayContext> | void> {
      const trace = contextValue.trace;
      if (!trace) return;
      return {
        async parsingDidStart() {
          const start = trace.now();
          return async () => {
            trace.parse = [start, trace.now()];
          };
        },
        async validationDidStart() {
          const start = trace.now();
          return async () => {
            trace.validate = [start, trace.now()];
          };
        },
        async didResolveOperation({ operation, operationName }) {
          trace.operationType = operation?.operation ?? null;
          trace.operationName = operationName ? operationName.slice(0, 200) : null;
        },
        async executionDidStart() {
          if (!trace.recording) return;
          const execute: [number, number] = [trace.now(), 0];
          trace.execute = execute;
          trace.executeSpanId = trace.newSpanId();
          /** Resolver spans by response path, to find a resolver's nearest recorded ancestor. */
          const spansByPath = new Map<string, string>();
          return {
            executionDidEnd: async () => {
              execute[1] = trace.now();
            },
            willResolveField({ info }) {
              const start = trace.now();
              let sync = true;
              // Runs once the resolver has returned: a result already settled by then came synchronously.
              queueMicrotask(() => {
                sync = false;
              });
              return (error) => {
                if (sync && !error) return;
                let parentId = trace.executeSpanId!;
                for (let p = info.path.prev; p; p = p.prev) {
                  if (typeof p.key === 'number') continue;
                  const found = spansByPath.get(pathKey(p));
                  if (found) {
                    parentId = found;
                    break;
                  }
                }
                const id = trace.newSpanId();
                spansByPath.set(pathKey(info.path), id);
                trace.add({
                  id,
                  parentId,
                  name: `${info.parentType.name}.${info.fieldName}`,
                  kind: 'resolver',
                  start,
                  durationMs: trace.now() - start,
                  ...(error ? { error: true } : {}),
                  attributes: { 'graphql.field.path': pathKey(info.path).slice(0, -1) },
                });
              };
            },
          };
        },
        async willSendResponse({ response }) {
          // Read when the trace finishes (the answer written): the tenant plugin's hook, which runs
          // concurrently with this one, may still COMMIT (a statement) or replace the errors.
          trace.answer = {
            body: response.body.kind === 'single' ? response.body.singleResult : undefined,
            scope: contextValue.lifecycle.scope,
          };
          if (trace.recording) response.http.headers.set('traceparent', trace.traceparent());
        },
      };
    },
  };
}
