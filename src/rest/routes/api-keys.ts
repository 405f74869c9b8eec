import { Field, InputType, Int } from 'type-graphql';
import { IsInt, Max, Min } from 'class-validator';
import type { RequestContext } from '../../context/request-context';
import { NotFoundError } from '../../errors';
import { ApiKey, CreatedApiKey } from '../../modules/api-key/api-key.entity';
import { CreateApiKeyInput } from '../../modules/api-key/api-key.inputs';
import { apiKeyService, MAX_ROTATION_GRACE_SECONDS } from '../../modules/api-key/api-key.service';
import { ORG, route, type RestRequest, type Route } from '../route';

/**
 * The body of POST …/api-keys/{api_key_id}/rotate: GraphQL's `rotateApiKey(gracePeriodSeconds:)` argument
 * as an input class (same default, same bounds as the service checks). Not used by GraphQL, not emitted.
 */
@InputType('RotateApiKeyInput', { description: 'How long the old value keeps working after the rotation.' })
export class RotateApiKeyInput {
  @Field(() => Int, {
    defaultValue: 0,
    description: `Seconds the old value keeps working after rotation, 0 to ${MAX_ROTATION_GRACE_SECONDS} (0: stops at once).`,
  })
  @IsInt()
  @Min(0)
  @Max(MAX_ROTATION_GRACE_SECONDS)
  gracePeriodSeconds: number;
}

const KEYS = `${ORG}/api-keys`;
const KEY = `${KEYS}/{api_key_id}`;
const tag = 'api-keys';
const scopes = ['api_keys:manage' as const];

/** One key's metadata (GraphQL reads it with `node(id:)`; the same loader). Never its value. */
async function read(ctx: RequestContext, req: RestRequest): Promise<ApiKey> {
  const key = await ctx.loaders.apiKey.byId.load(req.params.api_key_id);
  if (!key) throw new NotFoundError('API key', req.params.api_key_id);
  return key;
}

const location = (created: CreatedApiKey, req: RestRequest) =>
  `/orgs/${req.params.org_id}/api-keys/${created.apiKey.id}`;

/**
 * `/orgs/{org_id}/api-keys[/{api_key_id}[/revoke|/rotate]]`. The key's value (`key`) is in the answer of
 * create and rotate only, once: no other response, log line or error carries it. Revoking keeps the key
 * listed (status `revoked`), as GraphQL's revokeApiKey does, so it is a POST action, not a DELETE.
 */
export const apiKeyRoutes: Route[] = [
  route({
    method: 'get',
    path: KEYS,
    operationId: 'listApiKeys',
    summary: "List the organization's API keys (never their values), oldest first",
    tag,
    scopes,
    result: { kind: 'list', type: ApiKey },
    handle: (ctx, req) => apiKeyService.page(ctx, req.page),
  }),
  route<CreateApiKeyInput, CreatedApiKey>({
    method: 'post',
    path: KEYS,
    operationId: 'createApiKey',
    summary: 'Create an API key; its value is in this answer only (exchange it at POST /auth/token)',
    tag,
    scopes,
    body: { input: CreateApiKeyInput },
    result: { kind: 'object', type: CreatedApiKey },
    audit: { operation: 'createApiKey', targetType: 'CreatedApiKey', targetId: (c) => c.apiKey.id },
    location,
    handle: (ctx, req) => apiKeyService.create(ctx, req.body),
  }),
  route({
    method: 'get',
    path: KEY,
    operationId: 'getApiKey',
    summary: "Read an API key's metadata (never its value)",
    tag,
    scopes,
    result: { kind: 'object', type: ApiKey },
    handle: read,
  }),
  route<undefined, ApiKey>({
    method: 'post',
    path: `${KEY}/revoke`,
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key now; tokens already exchanged from it stop working too (idempotent)',
    tag,
    scopes,
    result: { kind: 'object', type: ApiKey },
    status: 200,
    audit: { operation: 'revokeApiKey', targetType: 'ApiKey' },
    handle: (ctx, req) => apiKeyService.revoke(ctx, req.params.api_key_id),
  }),
  route<RotateApiKeyInput, CreatedApiKey>({
    method: 'post',
    path: `${KEY}/rotate`,
    operationId: 'rotateApiKey',
    summary: 'A new value with the same grant; the old one works for the grace period (the new value is shown once)',
    tag,
    scopes,
    body: { input: RotateApiKeyInput, description: '`{}` rotates with no grace period.' },
    result: { kind: 'object', type: CreatedApiKey },
    audit: { operation: 'rotateApiKey', targetType: 'CreatedApiKey', targetId: (c) => c.apiKey.id },
    location,
    handle: (ctx, req) => apiKeyService.rotate(ctx, req.params.api_key_id, req.body.gracePeriodSeconds),
  }),
];
