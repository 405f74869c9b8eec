import { Field, ObjectType } from 'type-graphql';
import type { RequestContext } from '../../context/request-context';
import { BadInputError } from '../../errors';
import { traceService } from '../../modules/trace/trace.service';
import { Trace, TraceOutcome, TraceSpan } from '../../modules/trace/trace.types';
import { ORG, route, type RestRequest, type Route } from '../route';

/** REST's one-trace answer: the trace with its spans (GraphQL resolves `spans` as a field). Not in GraphQL. */
@ObjectType('TraceWithSpans', { description: 'A captured request trace with its span tree.' })
export class TraceWithSpans extends Trace {
  @Field(() => [TraceSpan], { description: 'The spans of the request, in start order; the first is the root.' })
  spans: TraceSpan[];
}

const TRACES = `${ORG}/traces`;
const tag = 'traces';
const scopes = ['traces:read' as const];

/** `since`/`until` as ISO 8601 instants; anything else is BAD_USER_INPUT naming the parameter. */
function instant(req: RestRequest, name: 'since' | 'until', bad: Array<{ field: string; message: string }>) {
  const text = req.query[name];
  if (text === undefined) return null;
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)
    ? new Date(text)
    : null;
  if (!at || Number.isNaN(at.getTime())) bad.push({ field: name, message: `${name} must be an ISO 8601 date-time` });
  return at;
}

async function withSpans(ctx: RequestContext, trace: Trace): Promise<TraceWithSpans> {
  const spans = await traceService.spans(ctx, trace);
  return Object.assign(Object.create(TraceWithSpans.prototype) as TraceWithSpans, trace, { spans });
}

/**
 * `/orgs/{org_id}/traces[/{trace_id}]` (issue 13): the organization's captured traces, newest first, for
 * owners and admins (`traces:read`), on the same service as GraphQL's `organization.traces` / `trace`. A trace
 * id is the W3C trace id (32 hex digits, the `traceparent` response header's second field); another
 * organization's id, a malformed one and one that never existed answer the same 404.
 */
export const traceRoutes: Route[] = [
  route({
    method: 'get',
    path: TRACES,
    operationId: 'listTraces',
    summary: "List the organization's captured request traces, newest first (without spans)",
    tag,
    scopes,
    query: {
      outcome: { description: 'Only traces that ended this way.', enum: Object.values(TraceOutcome) },
      operation_name: { description: 'Only traces of this operation name (exact; REST: the operation id).' },
      since: { description: 'Only traces that started at or after this ISO 8601 date-time.' },
      until: { description: 'Only traces that started before this ISO 8601 date-time.' },
    },
    result: { kind: 'list', type: Trace },
    handle: async (ctx, req) => {
      const bad: Array<{ field: string; message: string }> = [];
      const since = instant(req, 'since', bad);
      const until = instant(req, 'until', bad);
      if (bad.length) throw new BadInputError(bad);
      const page = await traceService.page(
        ctx,
        req.page,
        {
          outcome: (req.query.outcome as TraceOutcome | undefined) ?? null,
          operationName: req.query.operation_name ?? null,
          since,
          until,
        },
        false,
      );
      // Never spread a Connection: its totalCount is a lazy getter that runs a statement.
      return page;
    },
  }),
  route({
    method: 'get',
    path: `${TRACES}/{trace_id}`,
    operationId: 'getTrace',
    summary: 'Read one trace with its spans',
    tag,
    scopes,
    textParams: { trace_id: 'W3C trace id: 32 lower-case hex digits.' },
    result: { kind: 'object', type: TraceWithSpans },
    handle: async (ctx, req) => withSpans(ctx, await traceService.get(ctx, req.params.trace_id)),
  }),
];
