import { Arg, Args, ArgsType, Field, FieldResolver, Info, Query, Resolver, Root } from 'type-graphql';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { RequiresScopes } from '../../auth/decorators';
import { Organization } from '../organization/organization.entity';
import { isTraceCursorKey, traceService } from './trace.service';
import { Trace, TraceConnection, TraceOutcome, TraceSpan } from './trace.types';

@ArgsType()
export class TracesArgs extends PageArgs {
  @Field(() => TraceOutcome, { nullable: true, description: 'Only traces that ended this way.' })
  @IsOptional()
  outcome?: TraceOutcome | null;

  @Field(() => String, { nullable: true, description: 'Only traces of this operation name (exact).' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  operationName?: string | null;

  @Field(() => Date, { nullable: true, description: 'Only traces that started at or after this time.' })
  @IsOptional()
  since?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Only traces that started before this time.' })
  @IsOptional()
  until?: Date | null;
}

/** Whether the selection under a field asks for `spans` anywhere (fragments included). */
function selectsSpans(info: GraphQLResolveInfo): boolean {
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode | undefined): boolean =>
    set?.selections.some((s) => {
      if (s.kind === Kind.FIELD) return s.name.value === 'spans' || visit(s.selectionSet);
      if (s.kind === Kind.INLINE_FRAGMENT) return visit(s.selectionSet);
      if (seen.has(s.name.value)) return false;
      seen.add(s.name.value);
      return visit(info.fragments[s.name.value]?.selectionSet);
    }) ?? false;
  return info.fieldNodes.some((node) => visit(node.selectionSet));
}

@Resolver(() => Trace)
export class TraceResolver {
  @Query(() => Trace, {
    nullable: true,
    description:
      "One of the organization's traces with its spans, by W3C trace id (the `traceparent` response header's second field); NOT_FOUND otherwise. Owners and admins (traces:read).",
  })
  @RequiresScopes('traces:read')
  trace(
    @Arg('traceId', () => String, { description: 'W3C trace id: 32 lower-case hex digits.' }) traceId: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Trace> {
    return traceService.get(ctx, traceId);
  }

  @FieldResolver(() => [TraceSpan], { description: 'The spans of the request, in start order; the first is the root.' })
  spans(@Root() trace: Trace, @RequestCtx() ctx: RequestContext): Promise<TraceSpan[]> {
    return traceService.spans(ctx, trace);
  }
}

@Resolver(() => Organization)
export class OrganizationTracesResolver {
  @FieldResolver(() => TraceConnection, {
    description:
      "The organization's captured request traces (see traceConfig), newest first, with optional filters. Owners and admins (traces:read).",
  })
  @RequiresScopes('traces:read')
  traces(
    @Root() _org: Organization,
    @Args(() => TracesArgs) args: TracesArgs,
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Connection<Trace>> {
    return traceService.page(
      ctx,
      toPage(args, isTraceCursorKey, info),
      { outcome: args.outcome, operationName: args.operationName, since: args.since, until: args.until },
      selectsSpans(info),
    );
  }
}
