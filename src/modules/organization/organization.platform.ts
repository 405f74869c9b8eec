import { v7 as uuidv7 } from 'uuid';
import type { DataSource, EntityManager } from 'typeorm';
import { asPlatformAdmin } from '../../db/platform';
import { hydrate } from '../../db/tenant-loaders';
import { isUuid } from '../../db/tenant-scope';
import { pgErrorCode, PgError } from '../../db/pg-errors';
import { SLUG_PATTERN } from '../../graphql/validation';
import { Organization, OrganizationStatus, SupportTier } from './organization.entity';

/** Platform operations on organizations (not tenant operations): the CLI and the platform API use them. */
export class PlatformError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 = 400,
  ) {
    super(message);
  }
}

/** Platform operations are audited in the organization's own log, as actor `platform-admin`. */
export async function auditPlatformOperation(
  manager: EntityManager,
  orgId: string,
  operation: string,
  target: { type: string; id: string } = { type: 'Organization', id: orgId },
): Promise<void> {
  await manager.query(
    `INSERT INTO audit_log (org_id, id, actor, actor_kind, operation, target_type, target_id) VALUES ($1, $2, 'platform-admin', 'platform', $3, $4, $5)`,
    [orgId, uuidv7(), operation, target.type, target.id],
  );
}

export interface NewOrganization {
  name: string;
  slug: string;
  primaryDomain?: string;
  supportTier?: SupportTier;
  /** The first owner: an organization is never created without one. */
  owner: { userId: string; email: string; displayName?: string };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const organizationPlatform = {
  async create(owner: DataSource, input: NewOrganization): Promise<Organization> {
    const name = input.name?.trim();
    if (!name || name.length > 200) throw new PlatformError('name must be 1 to 200 characters');
    if (!SLUG_PATTERN.test(input.slug ?? '')) {
      throw new PlatformError('slug must be 1-63 lowercase letters, digits or inner hyphens');
    }
    const tier = input.supportTier ?? SupportTier.COMMUNITY;
    if (!Object.values(SupportTier).includes(tier)) {
      throw new PlatformError(`support tier must be one of ${Object.values(SupportTier).join(', ')}`);
    }
    if (!EMAIL.test(input.owner?.email ?? '')) throw new PlatformError('the first owner needs an e-mail address');
    const ownerId = input.owner.userId?.trim() || input.owner.email.toLowerCase();
    if (ownerId.length > 200 || /\s/.test(ownerId))
      throw new PlatformError('owner user id must be 1-200 characters without spaces');
    return asPlatformAdmin(owner, async (manager) => {
      try {
        const rows = await manager.query(
          `INSERT INTO organizations (id, name, slug, primary_domain, support_tier) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
          [uuidv7(), name, input.slug, input.primaryDomain ?? null, tier],
        );
        const organization = hydrate<Organization>(manager.connection.getMetadata(Organization), rows)[0];
        await manager.query(
          `INSERT INTO org_members (org_id, user_id, email, display_name, role) VALUES ($1, $2, lower($3), $4, 'owner')`,
          [organization.id, ownerId, input.owner.email, input.owner.displayName ?? null],
        );
        await auditPlatformOperation(manager, organization.id, 'createOrganization');
        return organization;
      } catch (error) {
        if (pgErrorCode(error) === PgError.UNIQUE_VIOLATION)
          throw new PlatformError(`an organization with slug "${input.slug}" already exists`);
        throw error;
      }
    });
  },

  /** By slug or id. */
  async find(owner: DataSource, slugOrId: string): Promise<Organization> {
    const organization = await asPlatformAdmin(owner, (manager) =>
      manager.findOne(Organization, { where: isUuid(slugOrId) ? { id: slugOrId } : { slug: slugOrId } }),
    );
    if (!organization) throw new PlatformError(`no organization "${slugOrId}"`, 404);
    return organization;
  },

  /** The user id of the organization's first owner (for development tokens). */
  async firstOwner(owner: DataSource, orgId: string): Promise<string | null> {
    const rows = await asPlatformAdmin(owner, (manager) =>
      manager.query(
        `SELECT user_id FROM org_members WHERE org_id = $1 AND role = 'owner' ORDER BY created_at LIMIT 1`,
        [orgId],
      ),
    );
    return rows[0]?.user_id ?? null;
  },

  list(owner: DataSource): Promise<Organization[]> {
    return asPlatformAdmin(owner, (manager) => manager.find(Organization, { order: { slug: 'ASC' } }));
  },

  async setStatus(owner: DataSource, slugOrId: string, status: OrganizationStatus): Promise<Organization> {
    if (!Object.values(OrganizationStatus).includes(status)) {
      throw new PlatformError(`status must be one of ${Object.values(OrganizationStatus).join(', ')}`);
    }
    const organization = await organizationPlatform.find(owner, slugOrId);
    await asPlatformAdmin(owner, async (manager) => {
      await manager.query(`UPDATE organizations SET status = $2, updated_at = now() WHERE id = $1`, [
        organization.id,
        status,
      ]);
      await auditPlatformOperation(manager, organization.id, `setOrganizationStatus:${status}`);
    });
    return { ...organization, status };
  },

  async setSupportTier(owner: DataSource, slugOrId: string, tier: SupportTier): Promise<Organization> {
    if (!Object.values(SupportTier).includes(tier)) {
      throw new PlatformError(`support tier must be one of ${Object.values(SupportTier).join(', ')}`);
    }
    const organization = await organizationPlatform.find(owner, slugOrId);
    await asPlatformAdmin(owner, async (manager) => {
      await manager.query(`UPDATE organizations SET support_tier = $2, updated_at = now() WHERE id = $1`, [
        organization.id,
        tier,
      ]);
      await auditPlatformOperation(manager, organization.id, `setSupportTier:${tier}`);
    });
    return { ...organization, supportTier: tier };
  },
};
