import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { RequiresScopes } from '../../auth/decorators';
import { JSONObject } from '../../graphql/scalars';
import { ConnectionType } from '../../graphql/pagination';

export enum TraceOutcome {
  OK = 'ok',
  ERROR = 'error',
}
registerEnumType(TraceOutcome, {
  name: 'TraceOutcome',
  description: 'How a traced request ended.',
  valuesConfig: {
    OK: { description: 'Answered without an error (HTTP status below 400, no GraphQL error).' },
    ERROR: { description: 'Ended with at least one GraphQL error or an HTTP status of 400 or more.' },
  },
});

@ObjectType({
  description: 'One timed step of a traced request: the request, a GraphQL phase, a resolver, a SQL statement.',
})
@RequiresScopes('traces:read')
export class TraceSpan {
  @Field(() => String, { description: 'Span id (16 hex digits), unique within the trace.' })
  id: string;

  @Field(() => String, {
    nullable: true,
    description: "The parent span's id; null for the request's root span without a caller's parent.",
  })
  parentId: string | null;

  @Field(() => String, { description: 'What ran: `query Name`, `graphql.parse`, `Workspace.environments`, `sql`…' })
  name: string;

  @Field(() => String, { description: 'request, graphql, resolver or sql.' })
  kind: string;

  @Field(() => Float, { description: 'Milliseconds from the start of the request.' })
  startMs: number;

  @Field(() => Float, { description: 'Duration in milliseconds.' })
  durationMs: number;

  @Field(() => Boolean, { description: 'Whether this step failed.' })
  error: boolean;

  @Field(() => JSONObject, {
    nullable: true,
    description: 'Names and numbers only (a SQL statement is its text with parameters apart, never their values).',
  })
  attributes: Record<string, unknown> | null;
}

@ObjectType({
  description:
    "One captured request of the organization (governed by its trace configuration). Its id is the W3C trace id of the request's `traceparent`.",
})
@RequiresScopes('traces:read')
export class Trace {
  @Field(() => String, { description: 'W3C trace id (32 hex digits), as in the `traceparent` response header.' })
  traceId: string;

  @Field(() => String, { nullable: true, description: 'The request id (x-request-id) of the request.' })
  requestId: string | null;

  @Field(() => Date, { description: 'When the request arrived.' })
  startedAt: Date;

  @Field(() => Float, { description: 'Duration in milliseconds, until the answer was written.' })
  durationMs: number;

  @Field(() => String, {
    nullable: true,
    description: 'query or mutation (GraphQL), rest (the REST API); null when the operation never resolved.',
  })
  operationType: string | null;

  @Field(() => String, { nullable: true, description: 'The operation name, when the request named one.' })
  operationName: string | null;

  @Field(() => String, { description: 'user or api_key.' })
  principalKind: string;

  @Field(() => String, { nullable: true, description: "The user (or the API key's owner) the request acted for." })
  userId: string | null;

  @Field(() => String, { nullable: true, description: 'The API key (its id, never its value) of an API-key request.' })
  apiKeyId: string | null;

  @Field(() => TraceOutcome, { description: 'ok or error.' })
  outcome: TraceOutcome;

  @Field(() => [String], { description: 'The error codes of the answer (extensions.code), sorted, each once.' })
  errorCodes: string[];

  @Field(() => Int, { description: 'HTTP status of the answer.' })
  httpStatus: number;

  @Field(() => Int, { description: 'SQL round trips of the request (BEGIN and COMMIT included).' })
  sqlStatements: number;

  @Field(() => Float, { description: 'Milliseconds spent waiting for SQL.' })
  sqlMs: number;

  @Field(() => Int, { description: 'Number of spans.' })
  spanCount: number;

  /** Loaded only when the query selects `spans` (a list of traces needs none). */
  spansJson?: unknown;
}

export const TraceConnection = ConnectionType(Trace);
