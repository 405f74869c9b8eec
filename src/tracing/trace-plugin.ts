import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import type { GatewayContext } from '../graphql/context';

/**
 * The GraphQL phases of a request's trace (src/tracing/request-trace.ts). Before the organization is known
 * (parse, validate) it records two timestamps per phase and nothing else; for a request being recorded it
 * marks the execute phase. Resolver spans are NOT made here with `willResolveField`: Apollo Server 5 wraps
 * every field resolver of the schema, once and for good, the first time any request's execution listener
 * has `willResolveField` (utils/schemaInstrumentation.js), so one traced organization would make every
 * request of every organization pay a wrapper on every field, property reads included (the cost issue 11
 * removed with the cache-control plugin). They are made by the resolver wrapper that already exists
 * (`mapDomainErrors`, src/graphql/errors.ts): only fields with a resolver of their own, a span for each that
 * returned a promise (awaited a loader, a service, the database) or failed.
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
          trace.setOperation(operation?.operation ?? null, operationName);
        },
        async executionDidStart() {
          if (!trace.recording) return;
          const execute: [number, number] = [trace.now(), 0];
          trace.execute = execute;
          trace.executeSpanId = trace.newSpanId();
          return {
            executionDidEnd: async () => {
              execute[1] = trace.now();
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
