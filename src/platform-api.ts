import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { DataSource } from 'typeorm';
import { OrganizationStatus, SupportTier, type Organization } from './modules/organization/organization.entity';
import { PlatformError, organizationPlatform } from './modules/organization/organization.platform';
import { bearerChallenge } from './graphql/errors';
import { unsafeTextReason } from './graphql/input-safety';
import type { RequestFacts } from './request-scope';

/**
 * The platform-admin HTTP API: operations that are not tenant operations (create an organization with
 * its first owner, change its status or support tier). It takes a separate credential,
 * PLATFORM_ADMIN_TOKEN, compared in constant time; tenant tokens are never accepted here, and the
 * routes answer 404 when no platform token is configured. The CLI offers the same operations.
 *
 *   GET   /platform/v1/organizations
 *   POST  /platform/v1/organizations          {name, slug, ownerEmail, ownerId?, primaryDomain?, supportTier?}
 *   PATCH /platform/v1/organizations/:org     {status?, supportTier?}    (:org = slug or id)
 */
export function platformApi(owner: DataSource, platformToken: string | undefined): Router {
  const router = express.Router();
  const expected = platformToken ? crypto.createHash('sha256').update(platformToken).digest() : undefined;

  router.use((req: Request, res: Response, next: NextFunction) => {
    if (!expected) {
      res
        .status(404)
        .json({ error: 'not_found', message: 'The platform API is not enabled (set PLATFORM_ADMIN_TOKEN)' });
      return;
    }
    const presented = /^Bearer (.+)$/.exec(req.header('authorization') ?? '')?.[1] ?? '';
    const digest = crypto.createHash('sha256').update(presented).digest();
    if (!crypto.timingSafeEqual(digest, expected)) {
      // One realm for the whole gateway (RFC 6750 §3); error="invalid_token" when a credential was presented.
      const challenge = bearerChallenge(
        req.header('authorization') ? { description: 'A platform-admin token is required' } : undefined,
      );
      res
        .status(401)
        .set('www-authenticate', challenge)
        .json({ error: 'unauthorized', message: 'A platform-admin token is required' });
      return;
    }
    const facts = res.locals.facts as RequestFacts | undefined;
    if (facts) facts.principal = { kind: 'platform_admin', id: null };
    next();
  });
  router.use(express.json({ limit: '64kb' }));

  const view = (o: Organization) => ({
    id: o.id,
    name: o.name,
    slug: o.slug,
    status: o.status,
    supportTier: o.supportTier,
    primaryDomain: o.primaryDomain,
    createdAt: o.createdAt,
  });
  const handle =
    (work: (req: Request) => Promise<{ status: number; body: unknown }>) =>
    async (req: Request, res: Response, next: NextFunction) => {
      try {
        const { status, body } = await work(req);
        res.status(status).json(body);
      } catch (error) {
        if (error instanceof PlatformError) {
          res
            .status(error.status)
            .json({ error: error.status === 404 ? 'not_found' : 'bad_request', message: error.message });
        } else {
          next(error);
        }
      }
    };
  const text = (value: unknown, field: string, required = true): string | undefined => {
    if (value === undefined || value === null) {
      if (required) throw new PlatformError(`${field} is required`);
      return undefined;
    }
    if (typeof value !== 'string') throw new PlatformError(`${field} must be a string`);
    const unsafe = unsafeTextReason(value); // NUL or broken Unicode: never to SQL (graphql/input-safety.ts)
    if (unsafe) throw new PlatformError(`${field} ${unsafe}`);
    return value;
  };

  router.get(
    '/organizations',
    handle(async () => ({ status: 200, body: { organizations: (await organizationPlatform.list(owner)).map(view) } })),
  );
  router.post(
    '/organizations',
    handle(async (req) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const created = await organizationPlatform.create(owner, {
        name: text(body.name, 'name')!,
        slug: text(body.slug, 'slug')!,
        primaryDomain: text(body.primaryDomain, 'primaryDomain', false),
        supportTier: text(body.supportTier, 'supportTier', false) as SupportTier | undefined,
        owner: { email: text(body.ownerEmail, 'ownerEmail')!, userId: text(body.ownerId, 'ownerId', false) ?? '' },
      });
      return { status: 201, body: view(created) };
    }),
  );
  router.patch(
    '/organizations/:org',
    handle(async (req) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const status = text(body.status, 'status', false) as OrganizationStatus | undefined;
      const tier = text(body.supportTier, 'supportTier', false) as SupportTier | undefined;
      if (!status && !tier) throw new PlatformError('give status and/or supportTier');
      // Validate both before changing either, so a half-bad request changes nothing.
      if (status && !Object.values(OrganizationStatus).includes(status)) {
        throw new PlatformError(`status must be one of ${Object.values(OrganizationStatus).join(', ')}`);
      }
      if (tier && !Object.values(SupportTier).includes(tier)) {
        throw new PlatformError(`supportTier must be one of ${Object.values(SupportTier).join(', ')}`);
      }
      const org = text(String(req.params.org), 'organization')!;
      let organization = await organizationPlatform.find(owner, org);
      if (status) organization = await organizationPlatform.setStatus(owner, organization.id, status);
      if (tier) organization = await organizationPlatform.setSupportTier(owner, organization.id, tier);
      return { status: 200, body: view(organization) };
    }),
  );
  return router;
}
