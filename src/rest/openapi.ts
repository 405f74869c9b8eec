import { SCOPES } from '../auth/scopes';
import { MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE } from '../pagination';
import { NOT_FOUND_DETAIL, PROBLEM_SCHEMA } from './problem';
import type { Route } from './route';
import { getMetadataStorage } from 'type-graphql';
import { SchemaRegistry, snake, type JsonSchema } from './schema';

/**
 * The OpenAPI 3.1 document, generated at run time from the route table (src/rest/routes) and the classes
 * the routes name: request schemas from the GraphQL input classes' class-validator rules, response
 * schemas from the type-graphql object types (src/rest/schema.ts). Nothing of it is written by hand
 * except the prose below; a route that exists is documented, and a documented route exists.
 */
export function openApiDocument(routes: Route[]): Record<string, unknown> {
  const registry = new SchemaRegistry();
  const paths: Record<string, Record<string, unknown>> = {};
  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });
  for (const route of routes) {
    const path = `/api/v1${route.path}`;
    const parameters: JsonSchema[] = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      description:
        name === 'org_id'
          ? "The token's organization (a UUID). Any other organization's id answers 404."
          : (route.textParams?.[name] ?? `A UUID. Another organization's id, or one that does not exist, answers 404.`),
      // rest-more: text parameters (user ids) are strings, not UUIDs.
      schema:
        route.textParams?.[name] !== undefined
          ? { type: 'string', minLength: 1, maxLength: 200 }
          : { type: 'string', format: 'uuid' },
    }));
    if (route.result.kind === 'list') {
      parameters.push(
        {
          name: 'limit',
          in: 'query',
          description: `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).`,
          schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE },
        },
        {
          name: 'cursor',
          in: 'query',
          description: 'Opaque: the `next_cursor` of the previous page (or follow `next` / the Link header).',
          schema: { type: 'string' },
        },
      );
    }
    for (const [name, spec] of Object.entries(route.query ?? {})) {
      parameters.push({
        name,
        in: 'query',
        description: spec.description,
        schema: { type: 'string', ...(spec.enum ? { enum: [...spec.enum] } : {}) },
      });
    }
    const mutating = route.method !== 'get';
    if (mutating && route.current) {
      parameters.push({
        name: 'If-Match',
        in: 'header',
        description: 'Optional: the ETag from a GET; a stale one answers 412 PRECONDITION_FAILED and changes nothing.',
        schema: { type: 'string' },
      });
    }
    if (!mutating && route.result.kind === 'object') {
      parameters.push({
        name: 'If-None-Match',
        in: 'header',
        description: 'Optional: an ETag; 304 when the resource still has it.',
        schema: { type: 'string' },
      });
    }
    const responses: Record<string, unknown> = {};
    const status = route.result.kind === 'none' ? 204 : (route.status ?? (route.location ? 201 : 200));
    if (route.result.kind === 'none') {
      responses['204'] = { description: 'Done; no body.' };
    } else {
      const item = registry.object(route.result.type);
      const schema =
        route.result.kind === 'array'
          ? { type: 'object', properties: { items: { type: 'array', items: item } }, required: ['items'] }
          : route.result.kind === 'list'
            ? {
                type: 'object',
                properties: {
                  items: { type: 'array', items: item },
                  next_cursor: { anyOf: [{ type: 'string' }, { type: 'null' }] },
                  next: {
                    anyOf: [{ type: 'string' }, { type: 'null' }],
                    description: 'The next page (also in the Link header, rel="next"); null on the last page.',
                  },
                },
                required: ['items', 'next_cursor', 'next'],
              }
            : item;
      const headers: Record<string, unknown> = {};
      if (route.result.kind === 'object')
        headers.ETag = { description: "The representation's entity tag, for If-Match.", schema: { type: 'string' } };
      if (route.location) headers.Location = { description: 'The created resource.', schema: { type: 'string' } };
      if (route.result.kind === 'list')
        headers.Link = { description: 'rel="next" when there is another page.', schema: { type: 'string' } };
      responses[String(status)] = {
        description: route.location ? 'Created.' : 'OK.',
        headers,
        content: { 'application/json': { schema } },
      };
    }
    if (route.body || route.result.kind === 'list' || route.query)
      responses['400'] = problem('BAD_USER_INPUT (every bad field in `errors`) or a malformed request (BAD_REQUEST).');
    responses['401'] = problem('UNAUTHENTICATED: no token, or a refused one (see WWW-Authenticate).');
    responses['403'] = problem('FORBIDDEN (scope or role), ORG_SUSPENDED (changes), ORG_ARCHIVED.');
    responses['404'] = problem(`NOT_FOUND: "${NOT_FOUND_DETAIL}", the same for every id that is not yours.`);
    if (mutating) responses['409'] = problem('CONFLICT: a concurrent change won; nothing was changed, retry.');
    if (mutating && route.current) responses['412'] = problem('PRECONDITION_FAILED: If-Match does not match.');
    if (route.body) {
      responses['413'] = problem('The body is larger than 1 MB.');
      responses['415'] = problem('The body is not application/json (or application/merge-patch+json).');
    }
    responses['503'] = problem('SERVICE_UNAVAILABLE or TIMEOUT: nothing was changed; retry after Retry-After.');

    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      security: [{ bearerAuth: route.scopes }],
      'x-required-scopes': route.scopes,
      ...(route.audit ? { 'x-audit-operation': route.audit.operation } : {}),
      parameters,
      responses,
    };
    if (route.body) {
      const schema = registry.input(route.body.input, {
        partial: route.body.partial,
        omit: Object.keys(route.body.set ?? {}),
        name: route.body.schemaName ?? (route.body.partial ? `${route.body.input.name}Patch` : route.body.input.name),
      });
      const content = route.body.partial
        ? { 'application/merge-patch+json': { schema }, 'application/json': { schema } }
        : { 'application/json': { schema } };
      operation.requestBody = {
        required: true,
        description:
          route.body.description ??
          (route.body.partial
            ? 'JSON merge patch (RFC 7396): an omitted field is kept; null clears a field that can be empty. Unknown fields are refused.'
            : 'Unknown fields are refused (BAD_USER_INPUT), as GraphQL refuses unknown input fields.'),
        content,
      };
    }
    paths[path] ??= {};
    paths[path][route.method] = operation;
  }

  paths['/auth/token'] = {
    post: {
      operationId: 'exchangeApiKey',
      summary: 'Exchange an API key for a short-lived bearer token',
      description:
        'The one unauthenticated operation: an API key (`fl_…`, created by `POST …/api-keys` or GraphQL `createApiKey`) in, a JWT out. Send the token as `Authorization: Bearer <token>` to every other operation. Refusals are OAuth 2.0 style `{error, error_description}`; rate limited per client address and per key (429 with Retry-After).',
      tags: ['auth'],
      security: [],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: { api_key: { type: 'string', description: 'The API key, `fl_…`.' } },
              required: ['api_key'],
            },
          },
        },
      },
      responses: {
        '200': {
          description: 'A bearer token.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  access_token: { type: 'string' },
                  token_type: { type: 'string', enum: ['Bearer'] },
                  expires_in: { type: 'integer', description: 'Seconds.' },
                  scope: { type: 'string', description: 'Space-separated scopes.' },
                  org_id: {
                    type: 'string',
                    format: 'uuid',
                    description: "The key's organization: the `{org_id}` of every path this token may use.",
                  },
                },
                required: ['access_token', 'token_type', 'expires_in', 'scope', 'org_id'],
              },
            },
          },
        },
        '400': {
          description: 'Malformed request.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } },
        },
        '401': {
          description: 'Unknown, revoked or expired key.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } },
        },
        '403': {
          description: 'The organization is suspended or archived.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } },
        },
        '429': {
          description: 'Too many attempts; see Retry-After.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } },
        },
      },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'manifest-gateway REST API',
      version: '1.0.0',
      description:
        'The tenant hierarchy over REST: `/api/v1/orgs/{org_id}/workspaces/{workspace_id}/…`, on the same services, rules and transaction-per-request as the GraphQL API at `/graphql`. JSON is snake_case. Ids are raw UUIDs. Errors are RFC 9457 problem documents whose `code` is the GraphQL `extensions.code`. Lists page with `?limit=&cursor=` and a `next` link. Single resources carry an ETag; PATCH and DELETE accept If-Match.',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag)), 'auth'].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: `A JWT whose \`org\` claim is the organization: exchange an API key at \`POST /auth/token\` (see that operation), or use a token of the configured identity provider. Scopes: ${SCOPES.join(', ')}.`,
        },
      },
      schemas: {
        ...restWording(registry.components),
        Problem: PROBLEM_SCHEMA,
        OAuthError: {
          type: 'object',
          properties: { error: { type: 'string' }, error_description: { type: 'string' } },
          required: ['error'],
        },
      },
    },
  };
}

/**
 * The descriptions come from the GraphQL classes, which speak GraphQL: camelCase field names
 * (`deploymentHost`) and enum names (`LOCALHOST`, `SAMPLED`). In the REST document they read as REST
 * clients write them (`deployment_host`, `localhost`, `sampled`), taken from type-graphql's metadata. Only
 * the generated schemas are reworded, never this file's own prose.
 */
/** Enum names that are also words of the prose (`an API key`, `AWS credentials`): left as written. */
const PROPER_NOUNS = new Set(['API', 'AWS', 'HTTP', 'JSON', 'SQL', 'MFA', 'LLM', 'ID', 'URL']);

function restWording<T>(document: T): T {
  const storage = getMetadataStorage();
  const words = new Map<string, string>();
  for (const e of storage.enums)
    for (const [key, value] of Object.entries(e.enumObj as Record<string, string>))
      if (!PROPER_NOUNS.has(key)) words.set(key, value);
  for (const f of storage.fields) if (/[A-Z]/.test(f.name)) words.set(f.name, snake(f.name));
  const pattern = new RegExp(`\\b(${[...words.keys()].sort((x, y) => y.length - x.length).join('|')})\\b`, 'g');
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object')
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          k === 'description' && typeof v === 'string' ? v.replace(pattern, (w) => words.get(w) ?? w) : walk(v),
        ]),
      );
    return value;
  };
  return walk(document) as T;
}
