import { entities } from '../../db/sql';
import { v7 as uuidv7 } from 'uuid';
import type { EntityManager } from 'typeorm';
import type { RequestContext } from '../../context/request-context';
import { requireWorkspaceRole } from '../../auth/access';
import { WorkspaceRole } from '../../auth/roles';
import { insertReturning, updateReturning } from '../../db/writes';
import { BadInputError, NotFoundError } from '../../errors';
import { pgConstraint, pgErrorCode, PgError } from '../../db/pg-errors';
import { toConnection, type Connection, type Page } from '../../pagination';
import { checkId } from '../../errors';
import { componentService } from '../component/component.service';
import type { Component } from '../component/component.entity';
import { DeploymentPromotion, DeploymentRing, type RingDeployment } from './deployment.entity';
import {
  MAX_RINGS_PER_WORKSPACE,
  type CreateDeploymentRingInput,
  type DeployComponentInput,
  type PromoteComponentInput,
  type UpdateDeploymentRingInput,
} from './deployment.inputs';

/**
 * Locking (READ COMMITTED, one transaction per request):
 * - ring structure (create, delete, position shifts) takes the workspace row FOR NO KEY UPDATE;
 * - deploys and promotions take it FOR SHARE, so positions cannot move under them, while they run
 *   side by side (FOR KEY SHARE from foreign-key checks, i.e. creating environments or components, is
 *   not blocked by either);
 * - a deploy or promotion then locks its target ring row (writes into one ring are serialized), reads the
 *   source ring's current version FOR SHARE (it cannot be replaced until the promotion commits), locks
 *   the target's current-version row, and only then makes the history id: the history's order is the
 *   order in which the state changed. Locks are taken in pipeline order, so they cannot deadlock;
 * - before all of these, the component row FOR KEY SHARE (a component deletion locks it, then its
 *   ring_deployments rows: the same order).
 */
async function lockWorkspace(
  manager: EntityManager,
  orgId: string,
  workspaceId: string,
  mode: 'FOR SHARE' | 'FOR NO KEY UPDATE',
): Promise<void> {
  const rows = await manager.query(`SELECT id FROM workspaces WHERE org_id = $1 AND id = $2 ${mode}`, [
    orgId,
    workspaceId,
  ]);
  if (rows.length === 0) throw new NotFoundError('Workspace', workspaceId);
}

function ringsOf(manager: EntityManager, rows: Record<string, unknown>[]): Promise<DeploymentRing[]> {
  return entities(manager, DeploymentRing, rows);
}

/** Names of the ring constraints → what the client should fix. */
function explainRingError(
  error: unknown,
  input: { name?: string; environmentId?: string; workspaceId?: string },
): never {
  const code = pgErrorCode(error);
  const constraint = pgConstraint(error);
  if (code === PgError.UNIQUE_VIOLATION && constraint === 'deployment_rings_name_key') {
    throw new BadInputError([
      { field: 'name', message: `a ring named "${input.name}" already exists in this workspace` },
    ]);
  }
  if (
    code === PgError.FOREIGN_KEY_VIOLATION &&
    constraint === 'deployment_rings_environment_fkey' &&
    input.environmentId
  ) {
    throw new NotFoundError('Environment', input.environmentId); // deleted meanwhile
  }
  if (code === PgError.FOREIGN_KEY_VIOLATION && input.workspaceId)
    throw new NotFoundError('Workspace', input.workspaceId);
  throw error;
}

export const deploymentService = {
  async ring(ctx: RequestContext, id: string, field = 'id'): Promise<DeploymentRing> {
    const ring = await ctx.loaders.deployments.ring.load(checkId(id, field));
    if (!ring) throw new NotFoundError('DeploymentRing', id);
    return ring;
  },

  async promotion(ctx: RequestContext, id: string): Promise<DeploymentPromotion> {
    const promotion = await ctx.loaders.deployments.promotion.load(id);
    if (!promotion) throw new NotFoundError('DeploymentPromotion', id);
    return promotion;
  },

  ringsOfWorkspace(ctx: RequestContext, workspaceId: string): Promise<DeploymentRing[]> {
    return ctx.loaders.deployments.ringsOfWorkspace.load(workspaceId);
  },

  deploymentsOfComponent(ctx: RequestContext, componentId: string): Promise<RingDeployment[]> {
    return ctx.loaders.deployments.deploymentsOfComponent.load(componentId);
  },

  /** The versions currently in a ring, one per component (the REST `…/rings/{ring_id}/deployments`). */
  deploymentsInRing(ctx: RequestContext, ringId: string): Promise<RingDeployment[]> {
    return ctx.loaders.deployments.deploymentsInRing.load(ringId);
  },

  async promotionsIntoRing(ctx: RequestContext, ringId: string, page: Page): Promise<Connection<DeploymentPromotion>> {
    const loaders = ctx.loaders.deployments;
    const rows = await loaders.promotionsIntoRing(page).load(ringId);
    return toConnection(rows, page, () => loaders.promotionCount.load(ringId));
  },

  /** The environment must exist (for the caller) and belong to the ring's workspace. */
  async checkEnvironment(ctx: RequestContext, workspaceId: string, environmentId: string): Promise<string> {
    const environment = await ctx.loaders.environment.byId.load(checkId(environmentId, 'environmentId'));
    if (!environment) throw new NotFoundError('Environment', environmentId);
    if (environment.workspaceId !== workspaceId) {
      throw new BadInputError([
        { field: 'environmentId', message: `environmentId must be an environment of workspace ${workspaceId}` },
      ]);
    }
    return environment.id;
  },

  /** Rings are the workspace's release pipeline: creating, changing and deleting them is for its admins. */
  async create(ctx: RequestContext, input: CreateDeploymentRingInput): Promise<DeploymentRing> {
    const workspaceId = checkId(input.workspaceId, 'workspaceId');
    await requireWorkspaceRole(ctx, workspaceId, WorkspaceRole.ADMIN);
    const environmentId = await deploymentService.checkEnvironment(ctx, workspaceId, input.environmentId);
    const name = input.name.trim();
    const ring = await ctx.scope.mutation(async (manager) => {
      await lockWorkspace(manager, ctx.orgId, workspaceId, 'FOR NO KEY UPDATE');
      const [{ count }] = await manager.query(
        `SELECT count(*)::int AS count FROM deployment_rings WHERE org_id = $1 AND workspace_id = $2`,
        [ctx.orgId, workspaceId],
      );
      if (count >= MAX_RINGS_PER_WORKSPACE) {
        throw new BadInputError([
          { field: 'workspaceId', message: `a workspace has at most ${MAX_RINGS_PER_WORKSPACE} deployment rings` },
        ]);
      }
      const position = input.position ?? count;
      if (position > count) {
        throw new BadInputError([
          {
            field: 'position',
            message: `position must be between 0 and ${count} (the number of rings in the workspace)`,
          },
        ]);
      }
      if (position < count) {
        await manager.query(
          `UPDATE deployment_rings SET position = position + 1, updated_at = now() WHERE org_id = $1 AND workspace_id = $2 AND position >= $3`,
          [ctx.orgId, workspaceId, position],
        );
      }
      return insertReturning(manager, DeploymentRing, {
        orgId: ctx.orgId,
        id: uuidv7(),
        workspaceId,
        name,
        position,
        environmentId,
      }).catch((error) => explainRingError(error, { name, environmentId, workspaceId }));
    });
    ctx.loaders.deployments.clear();
    return ring;
  },

  async update(ctx: RequestContext, id: string, input: UpdateDeploymentRingInput): Promise<DeploymentRing> {
    const existing = await deploymentService.ring(ctx, id);
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.ADMIN);
    const values: Partial<DeploymentRing> = {};
    if (input.name !== undefined) values.name = input.name.trim();
    if (input.environmentId !== undefined) {
      values.environmentId = await deploymentService.checkEnvironment(ctx, existing.workspaceId, input.environmentId);
    }
    const ring = await ctx.scope.mutation(async (manager) => {
      const updated = await updateReturning(
        manager,
        DeploymentRing,
        { orgId: ctx.orgId, id: existing.id },
        values,
      ).catch((error) => explainRingError(error, { name: values.name, environmentId: values.environmentId }));
      if (!updated) throw new NotFoundError('DeploymentRing', id);
      return updated;
    });
    ctx.loaders.deployments.clear();
    return ring;
  },

  /**
   * A ring without history can be deleted; the rings after it move up one position. A ring with
   * promotion history is refused: history is append-only (delete the workspace to remove it all).
   */
  async delete(ctx: RequestContext, id: string): Promise<string> {
    const existing = await deploymentService.ring(ctx, id);
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.ADMIN);
    await ctx.scope.mutation(async (manager) => {
      await lockWorkspace(manager, ctx.orgId, existing.workspaceId, 'FOR NO KEY UPDATE');
      const [ring] = await ringsOf(
        manager,
        await manager.query(`SELECT * FROM deployment_rings WHERE org_id = $1 AND id = $2`, [ctx.orgId, existing.id]),
      );
      if (!ring) throw new NotFoundError('DeploymentRing', id);
      const history = await manager.query(
        `SELECT 1 FROM deployment_promotions WHERE org_id = $1 AND (to_ring_id = $2 OR from_ring_id = $2) LIMIT 1`,
        [ctx.orgId, ring.id],
      );
      if (history.length > 0) {
        throw new BadInputError([
          { field: 'id', message: 'this ring has promotion history, which is kept: it cannot be deleted' },
        ]);
      }
      await manager.query(`DELETE FROM deployment_rings WHERE org_id = $1 AND id = $2`, [ctx.orgId, ring.id]);
      await manager.query(
        `UPDATE deployment_rings SET position = position - 1, updated_at = now() WHERE org_id = $1 AND workspace_id = $2 AND position > $3`,
        [ctx.orgId, ring.workspaceId, ring.position],
      );
    });
    ctx.loaders.deployments.clear();
    return existing.id;
  },

  /** How a version enters the pipeline: into the first ring (position 0), any version. */
  async deploy(ctx: RequestContext, input: DeployComponentInput): Promise<DeploymentPromotion> {
    const component = await componentService.get(ctx, checkId(input.componentId, 'componentId'));
    const ring = await deploymentService.ring(ctx, input.ringId, 'ringId');
    await requireWorkspaceRole(ctx, component.workspaceId, WorkspaceRole.DEVELOPER);
    if (ring.workspaceId !== component.workspaceId) {
      throw new BadInputError([
        { field: 'ringId', message: `ringId must be a ring of the component's workspace ${component.workspaceId}` },
      ]);
    }
    return deploymentService.record(ctx, component, null, ring.id, input.version);
  },

  /** Moves the version that is in fromRing into the ring immediately after it. */
  async promote(ctx: RequestContext, input: PromoteComponentInput): Promise<DeploymentPromotion> {
    const component = await componentService.get(ctx, checkId(input.componentId, 'componentId'));
    const from = await deploymentService.ring(ctx, input.fromRingId, 'fromRingId');
    const to = await deploymentService.ring(ctx, input.toRingId, 'toRingId');
    await requireWorkspaceRole(ctx, component.workspaceId, WorkspaceRole.DEVELOPER);
    const elsewhere = [
      ...(from.workspaceId !== component.workspaceId
        ? [
            {
              field: 'fromRingId',
              message: `fromRingId must be a ring of the component's workspace ${component.workspaceId}`,
            },
          ]
        : []),
      ...(to.workspaceId !== component.workspaceId
        ? [
            {
              field: 'toRingId',
              message: `toRingId must be a ring of the component's workspace ${component.workspaceId}`,
            },
          ]
        : []),
    ];
    if (elsewhere.length > 0) throw new BadInputError(elsewhere);
    return deploymentService.record(ctx, component, from.id, to.id, input.version);
  },

  /**
   * Checks the pipeline rules under locks (see lockWorkspace) and records the step: one history row,
   * and the target ring's current version. fromRingId null = deploy into the first ring.
   */
  async record(
    ctx: RequestContext,
    component: Component,
    fromRingId: string | null,
    toRingId: string,
    version: string,
  ): Promise<DeploymentPromotion> {
    const orgId = ctx.orgId;
    const promotion = await ctx.scope.mutation(async (manager) => {
      await lockWorkspace(manager, orgId, component.workspaceId, 'FOR SHARE');
      // The component next, before any ring_deployments row: deleting a component locks its row, then
      // cascades into its ring_deployments rows, so taking them in the other order (our insert's
      // foreign-key check came last) deadlocked with a concurrent deleteComponent.
      const live = await manager.query(`SELECT 1 FROM components WHERE org_id = $1 AND id = $2 FOR KEY SHARE`, [
        orgId,
        component.id,
      ]);
      if (live.length === 0) throw new NotFoundError('Component', component.id); // deleted meanwhile
      const rings = await ringsOf(
        manager,
        await manager.query(
          `SELECT * FROM deployment_rings WHERE org_id = $1 AND workspace_id = $2 AND id = ANY($3::uuid[])`,
          [orgId, component.workspaceId, fromRingId ? [fromRingId, toRingId] : [toRingId]],
        ),
      );
      const to = rings.find((r) => r.id === toRingId);
      const from = fromRingId ? rings.find((r) => r.id === fromRingId) : null;
      if (fromRingId && !from) throw new NotFoundError('DeploymentRing', fromRingId); // deleted meanwhile
      if (!to) throw new NotFoundError('DeploymentRing', toRingId);
      if (!from && to.position !== 0) {
        throw new BadInputError([
          {
            field: 'ringId',
            message: `a version enters the pipeline at the first ring (position 0); ring "${to.name}" is at position ${to.position}: use promoteComponent`,
          },
        ]);
      }
      if (from && to.position !== from.position + 1) {
        throw new BadInputError([
          {
            field: 'toRingId',
            message: `toRingId must be the ring immediately after ring "${from.name}" (position ${from.position + 1}); ring "${to.name}" is at position ${to.position}`,
          },
        ]);
      }
      // Serializes writes into the target ring (for every component), before the history id is made.
      await manager.query(`SELECT id FROM deployment_rings WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE`, [
        orgId,
        to.id,
      ]);
      if (from) {
        const [current] = await manager.query(
          `SELECT version FROM ring_deployments WHERE org_id = $1 AND ring_id = $2 AND component_id = $3 FOR SHARE`,
          [orgId, from.id, component.id],
        );
        if (!current || current.version !== version) {
          const has = current ? `it has ${current.version}` : 'it has no version of this component';
          throw new BadInputError([
            { field: 'version', message: `version ${version} is not deployed in ring "${from.name}" (${has})` },
          ]);
        }
      }
      // Waits for promotions still reading the target's current version (FOR SHARE above, in theirs):
      // the history id is made after them, so history order is the order the state changed in.
      await manager.query(
        `SELECT 1 FROM ring_deployments WHERE org_id = $1 AND ring_id = $2 AND component_id = $3 FOR NO KEY UPDATE`,
        [orgId, to.id, component.id],
      );
      const recorded = await insertReturning(manager, DeploymentPromotion, {
        orgId,
        id: uuidv7(),
        workspaceId: component.workspaceId,
        componentId: component.id,
        fromRingId: from?.id ?? null,
        toRingId: to.id,
        version,
        promotedBy: ctx.actor.subject,
        requestId: ctx.actor.requestId,
      }).catch((error) => {
        if (pgErrorCode(error) === PgError.FOREIGN_KEY_VIOLATION) throw new NotFoundError('Component', component.id); // deleted meanwhile
        throw error;
      });
      await manager.query(
        `INSERT INTO ring_deployments (org_id, workspace_id, ring_id, component_id, version, promotion_id, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (org_id, ring_id, component_id)
         DO UPDATE SET version = EXCLUDED.version, promotion_id = EXCLUDED.promotion_id, updated_at = EXCLUDED.updated_at`,
        [orgId, component.workspaceId, to.id, component.id, version, recorded.id, recorded.createdAt],
      );
      return recorded;
    });
    ctx.loaders.deployments.clear();
    return promotion;
  },
};
