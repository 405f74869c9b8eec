/**
 * REST route definitions: one object per operation, read by the router (src/rest/router.ts: auth,
 * openRequest, validation, audit, ETag/If-Match, commit, answer) and by the OpenAPI generator
 * (src/rest/openapi.ts). The route table is the one source of truth for both.
 *
 * HOW TO ADD A RESOURCE
 * 1. Create `src/rest/routes/<resource>.ts` exporting `const <resource>Routes: Route[] = [ … ]`, each made
 *    with `route({…})`, and add it to the list in `src/rest/routes/index.ts`.
 * 2. Paths are relative to /api/v1 and written as OpenAPI templates; `{org_id}` first for tenant
 *    resources (`/orgs/{org_id}/workspaces/{workspace_id}/…`). Every path parameter is a raw UUID
 *    (checked before anything runs: malformed → the same 404 as a missing object); `{org_id}` must be the
 *    token's organization (any other → that same 404).
 * 3. `scopes`: what the GraphQL field (and the type it returns) require with @RequiresScopes; all are
 *    needed (AND). Missing one → 403 FORBIDDEN before any statement, as in GraphQL.
 * 4. `body`: the GraphQL input class (class-validator + type-graphql). The body is snake_case; it is
 *    mapped, type-checked and validated by the same `validateInput` as GraphQL (src/rest/schema.ts).
 *    `partial: true` for PATCH (JSON merge patch: an omitted field is kept, null clears where the input
 *    allows null). Input fields the path decides (`workspaceId`) are given with `body.set` and are not
 *    body fields. A child resource must belong to the parent in its path: check it (see `inWorkspace`).
 * 5. `result`: the type-graphql object type the service returns (`object`), a Connection of them (`list`:
 *    paged with `?limit=&cursor=`), a bounded array (`array`), or `none` (204). The JSON and the OpenAPI schema are generated
 *    from the type's @Field metadata (snake_case).
 * 6. `handle(ctx, req)`: one or two lines calling the module's service with the RequestContext, exactly
 *    as the GraphQL resolver does. Never business rules here. Never spread a Connection (`{...page}`):
 *    its `totalCount` is a lazy getter that runs a statement nobody awaits, after the scope has ended.
 * 7. Mutations: `audit: {operation, targetType}` with the GraphQL mutation's name, so the audit log reads
 *    the same whichever transport made the change (the router records it in the change's savepoint).
 *    `current: {type, load}`: how to read the resource as its GET shows it, for ETag/If-Match on PATCH/DELETE.
 *    Creates give `location(result, req)` (201 + Location).
 * 8. Run `npm test -- rest`: the OpenAPI document is validated, and the second helper's isolation sweep
 *    and role matrix are generated from it, so a new route is covered without writing its tests by hand.
 */
import type { RequestContext } from '../context/request-context';
import type { Scope } from '../auth/scopes';
import type { Connection, Page } from '../pagination';
import type { JsonSchema } from './schema';
import { NotFoundError } from '../errors';

export type Class<T = any> = abstract new (...args: any[]) => T;
export type InputClass<T = any> = new () => T;

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

export interface RestRequest<B = unknown> {
  /** Path parameters (UUIDs, checked), snake_case as in the path, e.g. `params.workspace_id`. */
  params: Record<string, string>;
  /** The validated input instance (camelCase, as GraphQL's resolvers receive it). */
  body: B;
  /** `?limit=&cursor=` of a list route. */
  page: Page;
  /** The route's own query parameters (declared in `query`), validated. */
  query: Record<string, string | undefined>;
}

export type Result =
  | { kind: 'object'; type: Class }
  /** A page of a Connection: `{items, next_cursor, next}` and a Link header. */
  | { kind: 'list'; type: Class }
  /** A short bounded list (e.g. a workspace's at most 20 rings): `{items}`. */
  | { kind: 'array'; type: Class }
  | { kind: 'none' };

export interface QueryParam {
  description: string;
  /** Allowed values (e.g. an enum's); omitted: any string. */
  enum?: readonly string[];
}

export interface Route<B = unknown, R = unknown> {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  scopes: Scope[];
  body?: {
    input: InputClass<B & object>;
    partial?: boolean;
    description?: string;
    /**
     * Input fields the path decides (e.g. `workspaceId` from `{workspace_id}`, a component's `type` from
     * `/components/agents`): left out of the body schema (sending one is an unknown field) and set before
     * validation, so the same class-validator rules still see them.
     */
    set?: Record<string, (params: Record<string, string>) => unknown>;
    /** The OpenAPI schema name when `set` or `partial` make this body differ from the input class. */
    schemaName?: string;
  };
  query?: Record<string, QueryParam>;
  /**
   * Path parameters that are not UUIDs (rest-more: `{user_id}`, the `sub` of a member's tokens): name →
   * description. Checked as 1-200 characters without spaces or controls; anything else → the one 404.
   */
  textParams?: Record<string, string>;
  result: Result;
  /** Default: 201 for POST with a Location, 204 for `none`, 200 otherwise. */
  status?: 200 | 201 | 204;
  location?: (result: R, req: RestRequest<B>) => string;
  audit?: {
    operation: string;
    targetType: string | null;
    targetId?: (result: R, req: RestRequest<B>) => string | null;
  };
  /** The resource as its GET shows it (type + how to read it): the ETag that If-Match is checked against. */
  current?: { type: Class; load: (ctx: RequestContext, req: RestRequest<B>) => Promise<object> };
  handle: (ctx: RequestContext, req: RestRequest<B>) => Promise<R>;
  /** Extra response schema (for `object` results built from a plain schema): rarely needed. */
  responseSchema?: JsonSchema;
}

/** Type-checks a route definition (B: the input class's instance type; R: what handle returns). */
export function route<B = undefined, R = unknown>(definition: Route<B, R>): Route {
  return definition as unknown as Route;
}

/** Paging result of list routes: services return Connections. */
export type ListResult<T> = Connection<T>;

/** `/orgs/{org_id}/workspaces/{workspace_id}` and its children. */
export const ORG = '/orgs/{org_id}';
export const WORKSPACE = `${ORG}/workspaces/{workspace_id}`;

/**
 * A workspace's child as its path names it: it must belong to `{workspace_id}`, or it answers the same 404
 * as an id that does not exist (`/workspaces/A/environments/<an environment of B>` is not a path).
 */
export function inWorkspace<T extends { workspaceId: string }>(req: RestRequest, entity: T): T {
  if (entity.workspaceId !== req.params.workspace_id) throw new NotFoundError('resource', '');
  return entity;
}
