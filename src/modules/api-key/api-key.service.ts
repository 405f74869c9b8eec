import { entities, orgListPage } from '../../db/sql';
import { v7 as uuidv7 } from 'uuid';
import type { EntityManager } from 'typeorm';
import { generateApiKey } from '../../auth/api-key-format';
import { isScope } from '../../auth/scopes';
import { queryRows } from '../../db/writes';
import type { RequestContext } from '../../context/request-context';
import { BadInputError, ForbiddenError, NotFoundError, type FieldError } from '../../errors';
import type { Connection, Page } from '../../pagination';
import { checkId } from '../../errors';
import { API_KEY_COLUMNS, ApiKey, ApiKeyStatus, type CreatedApiKey } from './api-key.entity';
import type { CreateApiKeyInput } from './api-key.inputs';

const TWO_YEARS_MS = 2 * 366 * 24 * 3600 * 1000;
export const MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 3600;

function toKeys(manager: EntityManager, rows: Record<string, unknown>[]): Promise<ApiKey[]> {
  return entities(manager, ApiKey, rows);
}

/** Inserts a key; used by the GraphQL API and by the CLI's platform path (first owner key). */
export async function insertApiKey(
  manager: EntityManager,
  orgId: string,
  fields: {
    name: string;
    description: string | null;
    scopes: string[];
    expiresAt: Date | null;
    createdBy: string;
    ownerUserId: string | null;
  },
): Promise<CreatedApiKey> {
  const generated = generateApiKey();
  const rows = await manager.query(
    `INSERT INTO api_keys (org_id, id, key_id, name, description, scopes, secret_hash, created_by, owner_user_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${API_KEY_COLUMNS}`,
    [
      orgId,
      uuidv7(),
      generated.keyId,
      fields.name,
      fields.description,
      fields.scopes,
      generated.secretHash,
      fields.createdBy,
      fields.ownerUserId,
      fields.expiresAt,
    ],
  );
  return { key: generated.value, apiKey: (await toKeys(manager, rows))[0] };
}

export const apiKeyService = {
  page(ctx: RequestContext, page: Page): Promise<Connection<ApiKey>> {
    return orgListPage(ctx.scope, ApiKey, page, { columns: API_KEY_COLUMNS });
  },

  /** A key may be granted only known scopes that its creator holds (no escalation through keys). */
  async create(ctx: RequestContext, input: CreateApiKeyInput): Promise<CreatedApiKey> {
    const errors: FieldError[] = [];
    const unknown = input.scopes.filter((s) => !isScope(s));
    if (unknown.length) errors.push({ field: 'scopes', message: `unknown scope(s): ${unknown.join(', ')}` });
    const held = ctx.scopes;
    const beyond = input.scopes.filter((s) => isScope(s) && !held.has(s));
    if (beyond.length)
      errors.push({ field: 'scopes', message: `you cannot grant scope(s) you do not hold: ${beyond.join(', ')}` });
    if (input.expiresAt) {
      const at = input.expiresAt.getTime();
      if (at <= Date.now()) errors.push({ field: 'expiresAt', message: 'expiresAt must be in the future' });
      else if (at > Date.now() + TWO_YEARS_MS)
        errors.push({ field: 'expiresAt', message: 'expiresAt must be at most two years ahead' });
    }
    if (errors.length) throw new BadInputError(errors);
    return ctx.scope.mutation((manager) =>
      insertApiKey(manager, ctx.scope.orgId, {
        name: input.name.trim(),
        description: input.description ?? null,
        scopes: [...new Set(input.scopes)].sort(),
        expiresAt: input.expiresAt ?? null,
        createdBy: ctx.principal.subject,
        // The member it answers to: the signed-in user, or (for a key made by a key) that key's owner —
        // the request already resolved both into access.userId.
        ownerUserId: ctx.access.userId,
      }),
    );
  },

  /** Revoking is immediate, also for tokens already exchanged from the key (see the ctx plugin). */
  async revoke(ctx: RequestContext, id: string): Promise<ApiKey> {
    id = checkId(id);
    return ctx.scope.mutation(async (manager) => {
      const rows = await queryRows(
        manager,
        `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, $3)
          WHERE org_id = $1 AND id = $2 RETURNING ${API_KEY_COLUMNS}`,
        [ctx.scope.orgId, id, ctx.principal.subject],
      );
      if (rows.length === 0) throw new NotFoundError('API key', id);
      return (await toKeys(manager, rows))[0];
    });
  },

  /**
   * A new value for the same grant. The old key keeps working for `graceSeconds` (0: revoked now), so
   * deployments can switch over without downtime.
   */
  async rotate(ctx: RequestContext, id: string, graceSeconds: number): Promise<CreatedApiKey> {
    id = checkId(id);
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_ROTATION_GRACE_SECONDS) {
      throw new BadInputError([
        { field: 'gracePeriodSeconds', message: `gracePeriodSeconds must be 0 to ${MAX_ROTATION_GRACE_SECONDS}` },
      ]);
    }
    return ctx.scope.mutation(async (manager) => {
      const [old] = await toKeys(
        manager,
        await manager.query(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 AND id = $2 FOR UPDATE`, [
          ctx.orgId,
          id,
        ]),
      );
      if (!old) throw new NotFoundError('API key', id);
      // Rotating hands out a new value of the same grant: only to someone who holds all of it.
      const beyond = old.scopes.filter((s) => !ctx.scopes.has(s));
      if (beyond.length)
        throw new ForbiddenError(`Rotating this key would hand you scopes you do not hold: ${beyond.join(', ')}`);
      if (old.status !== ApiKeyStatus.ACTIVE || old.rotatedTo) {
        throw new BadInputError([
          {
            field: 'id',
            message: `only an active key that was not rotated already can be rotated (this one is ${old.rotatedTo ? 'rotated' : old.status})`,
          },
        ]);
      }
      const created = await insertApiKey(manager, ctx.orgId, {
        name: old.name,
        description: old.description,
        scopes: old.scopes,
        expiresAt: old.expiresAt,
        createdBy: ctx.principal.subject,
        ownerUserId: old.ownerUserId,
      });
      if (graceSeconds === 0) {
        await queryRows(
          manager,
          `UPDATE api_keys SET rotated_to = $3, revoked_at = now(), revoked_by = $4 WHERE org_id = $1 AND id = $2`,
          [ctx.orgId, id, created.apiKey.id, ctx.principal.subject],
        );
      } else {
        await queryRows(
          manager,
          `UPDATE api_keys SET rotated_to = $3, expires_at = least(coalesce(expires_at, 'infinity'), now() + make_interval(secs => $4))
            WHERE org_id = $1 AND id = $2`,
          [ctx.orgId, id, created.apiKey.id, graceSeconds],
        );
      }
      return created;
    });
  },
};
