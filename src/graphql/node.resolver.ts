import DataLoader from 'dataloader';
import type { GraphQLSchema } from 'graphql';
import { getDirective } from '@graphql-tools/utils';
import { Arg, ID, Info, Query, Resolver } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { RequestCtx } from './context';
import type { RequestContext } from '../context/request-context';
import { badInput, forbidden, toGraphQLError } from './errors';
import { DomainError } from '../errors';
import { fromGlobalId, Node, type NodeTypeName } from './node';
import { hydrate } from '../db/tenant-loaders';
import type { TenantScope } from '../db/tenant-scope';
import { API_KEY_COLUMNS, ApiKey } from '../modules/api-key/api-key.entity';
import { AuditEntry } from '../modules/audit/audit.entity';
import { SUBSCRIPTION_COLUMNS, ledgerEntriesFrom, subscriptionsFrom } from '../modules/billing/billing.sql';
import type { CreditLedgerEntry, ProductSubscription } from '../modules/billing/billing.entity';
import { Authenticated } from '../auth/decorators';

export const MAX_NODES_PER_REQUEST = 100;

/** By-id loaders for node types that no resolver needed one for before; one set per request (per Loaders). */
class ExtraNodeLoaders {
  readonly apiKey: DataLoader<string, ApiKey | null>;
  readonly auditEntry: DataLoader<string, AuditEntry | null>;
  readonly subscription: DataLoader<string, ProductSubscription | null>;
  readonly ledgerEntry: DataLoader<string, CreditLedgerEntry | null>;

  constructor(scope: TenantScope) {
    // Explicit column lists where the serving role may not read every column (api_keys.secret_hash).
    const byId = <E extends { id: string }>(sql: string, from: (rows: Record<string, unknown>[]) => Promise<E[]>) =>
      new DataLoader<string, E | null>(async (ids) => {
        const rows = await scope.query(sql, [scope.orgId, ids]);
        const found = new Map((await from(rows)).map((e) => [e.id, e]));
        return ids.map((id) => found.get(id) ?? null);
      });
    const manager = () => scope.manager();
    this.apiKey = byId(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 AND id = ANY($2::uuid[])`, async (rows) =>
      hydrate<ApiKey>((await manager()).connection.getMetadata(ApiKey), rows),
    );
    this.auditEntry = byId(`SELECT * FROM audit_log WHERE org_id = $1 AND id = ANY($2::uuid[])`, async (rows) =>
      hydrate<AuditEntry>((await manager()).connection.getMetadata(AuditEntry), rows),
    );
    this.subscription = byId(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE org_id = $1 AND id = ANY($2::uuid[])`, async (rows) =>
      subscriptionsFrom(await manager(), rows),
    );
    this.ledgerEntry = byId(`SELECT * FROM credit_ledger WHERE org_id = $1 AND id = ANY($2::uuid[])`, async (rows) =>
      ledgerEntriesFrom(await manager(), rows),
    );
  }
}

const extraLoaders = new WeakMap<RequestContext, ExtraNodeLoaders>();
function extra(ctx: RequestContext): ExtraNodeLoaders {
  let loaders = extraLoaders.get(ctx);
  if (!loaders) extraLoaders.set(ctx, (loaders = new ExtraNodeLoaders(ctx.scope)));
  return loaders;
}

/** Each node type read through the request's DataLoaders (so `nodes` of one type is one statement). */
const LOAD: Record<NodeTypeName, (ctx: RequestContext, id: string) => Promise<object | null>> = {
  Organization: async (ctx, id) => {
    const organization = await ctx.loaders.organization();
    return organization && organization.id === id ? organization : null;
  },
  Workspace: (ctx, id) => ctx.loaders.workspace.load(id),
  Environment: (ctx, id) => ctx.loaders.environment.load(id),
  Component: (ctx, id) => ctx.loaders.component.load(id),
  Connector: (ctx, id) => ctx.loaders.connector.load(id),
  DeploymentRing: (ctx, id) => ctx.loaders.deployments.ring.load(id),
  DeploymentPromotion: (ctx, id) => ctx.loaders.deployments.promotion.load(id),
  ApiKey: (ctx, id) => extra(ctx).apiKey.load(id),
  AuditEntry: (ctx, id) => extra(ctx).auditEntry.load(id),
  ProductSubscription: (ctx, id) => extra(ctx).subscription.load(id),
  CreditLedgerEntry: (ctx, id) => extra(ctx).ledgerEntry.load(id),
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
    if (ids.length > MAX_NODES_PER_REQUEST) throw badInput([{ field: 'ids', message: `at most ${MAX_NODES_PER_REQUEST} ids per request` }]);
    // One failed entry (FORBIDDEN) does not void the others: graphql-js reports an Error at its position.
    return Promise.all(ids.map((id) => loadNode(ctx, info.schema, id).catch((error: Error) => (error instanceof DomainError ? toGraphQLError(error) : error))));
  }
}
