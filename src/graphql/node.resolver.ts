import type { GraphQLSchema } from 'graphql';
import { getDirective } from '@graphql-tools/utils';
import { Arg, ID, Info, Query, Resolver } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { RequestCtx } from './context';
import type { RequestContext } from '../context/request-context';
import { badInput, forbidden, toGraphQLError } from './errors';
import { DomainError } from '../errors';
import { fromGlobalId, Node, type NodeTypeName } from './node';
import { Authenticated } from '../auth/decorators';

export const MAX_NODES_PER_REQUEST = 100;

const LOAD: Record<NodeTypeName, (ctx: RequestContext, id: string) => Promise<object | null>> = {
  Organization: async (ctx, id) => {
    const organization = await ctx.loaders.organization.current();
    return organization && organization.id === id ? organization : null;
  },
  Workspace: (ctx, id) => ctx.loaders.workspace.byId.load(id),
  Environment: (ctx, id) => ctx.loaders.environment.byId.load(id),
  Component: (ctx, id) => ctx.loaders.component.byId.load(id),
  Connector: (ctx, id) => ctx.loaders.connector.byId.load(id),
  DeploymentRing: (ctx, id) => ctx.loaders.deployments.ring.load(id),
  DeploymentPromotion: (ctx, id) => ctx.loaders.deployments.promotion.load(id),
  ApiKey: (ctx, id) => ctx.loaders.apiKey.byId.load(id),
  AuditEntry: (ctx, id) => ctx.loaders.audit.byId.load(id),
  ProductSubscription: (ctx, id) => ctx.loaders.billing.subscription.load(id),
  CreditLedgerEntry: (ctx, id) => ctx.loaders.billing.ledgerEntry.load(id),
};

/**
 * `node` must not be a way around the scopes: the caller needs the read scope of the type the id names
 * (the type's own @requiresScopes, the same rule its fields enforce), checked before any lookup, so the
 * answer does not depend on whether the object exists.
 */
function requireReadScope(ctx: RequestContext, schema: GraphQLSchema, type: NodeTypeName): void {
  const objectType = schema.getType(type);
  const rules = objectType ? (getDirective(schema, objectType as never, 'requiresScopes') ?? []) : [];
  for (const { scopes } of rules as Array<{ scopes: string[][] }>) {
    if (!scopes.some((all) => all.every((scope) => ctx.scopes.has(scope)))) {
      throw forbidden(`Reading a ${type} requires scope ${scopes.map((all) => all.join(' + ')).join(' or ')}`);
    }
  }
}

async function loadNode(ctx: RequestContext, schema: GraphQLSchema, globalId: string): Promise<object | null> {
  const decoded = fromGlobalId(globalId);
  if (!decoded) return null; // malformed: like an id that never existed
  requireReadScope(ctx, schema, decoded.type);
  return LOAD[decoded.type](ctx, decoded.id);
}

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    nullable: true,
    description:
      'Any object by its global id. null when no such object is visible to the caller: never existed, deleted, in another organization, in a workspace the caller cannot see, or not an id of this API. FORBIDDEN when the token lacks the read scope of the type the id names.',
  })
  @Authenticated()
  node(
    @Arg('id', () => ID, { description: 'A global id, as returned by any `id` field.' }) id: string,
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<object | null> {
    return loadNode(ctx, info.schema, id);
  }

  @Query(() => [Node], {
    nullable: 'items',
    description: `Several objects by their global ids, in the order given (at most ${MAX_NODES_PER_REQUEST}); each entry as \`node(id:)\` would answer it (null, or an error at that position).`,
  })
  @Authenticated()
  async nodes(
    @Arg('ids', () => [ID], { description: `Global ids, at most ${MAX_NODES_PER_REQUEST}.` }) ids: string[],
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Array<object | null | Error>> {
    if (ids.length > MAX_NODES_PER_REQUEST)
      throw badInput([{ field: 'ids', message: `at most ${MAX_NODES_PER_REQUEST} ids per request` }]);
    // One failed entry (FORBIDDEN) does not void the others: graphql-js reports an Error at its position.
    return Promise.all(
      ids.map((id) =>
        loadNode(ctx, info.schema, id).catch((error: Error) =>
          error instanceof DomainError ? toGraphQLError(error) : error,
        ),
      ),
    );
  }
}
