import DataLoader from 'dataloader';
import type { ObjectLiteral } from 'typeorm';
import type { TenantScope } from '../../db/tenant-scope';
import { byIdLoader, childCountLoader } from '../../db/tenant-loaders';
import { entities } from '../../db/sql';
import { keyset, pageKey, type Page } from '../../pagination';
import { DeploymentPromotion, DeploymentRing, RingDeployment } from './deployment.entity';

/**
 * Per-request loaders of the deployment module (created with the request's Loaders, dropped with it).
 * Every statement names org_id; row-level security applies as well.
 */
export class DeploymentLoaders {
  readonly ring: DataLoader<string, DeploymentRing | null>;
  readonly promotion: DataLoader<string, DeploymentPromotion | null>;
  readonly promotionCount: DataLoader<string, number>;
  private readonly promotionPages = new Map<string, DataLoader<string, DeploymentPromotion[]>>();

  constructor(private readonly scope: TenantScope) {
    this.ring = byIdLoader(scope, DeploymentRing);
    this.promotion = byIdLoader(scope, DeploymentPromotion);
    this.promotionCount = childCountLoader(scope, DeploymentPromotion, 'to_ring_id');
  }

  private hydrate<E extends ObjectLiteral>(entity: new () => E, rows: Record<string, unknown>[]): Promise<E[]> {
    return entities(this.scope, entity, rows);
  }

  /** The rings of each workspace, in pipeline order. */
  readonly ringsOfWorkspace = new DataLoader<string, DeploymentRing[]>(async (workspaceIds) => {
    const rows = await this.scope.query(
      `SELECT * FROM deployment_rings WHERE org_id = $1 AND workspace_id = ANY($2::uuid[]) ORDER BY workspace_id, position`,
      [this.scope.orgId, workspaceIds],
    );
    const rings = await this.hydrate(DeploymentRing, rows);
    for (const ring of rings) this.ring.prime(ring.id, ring); // promotion.toRing, deployment.ring: no second read
    return workspaceIds.map((id) => rings.filter((r) => r.workspaceId === id));
  });

  /** What is deployed of each component, in ring order. */
  readonly deploymentsOfComponent = new DataLoader<string, RingDeployment[]>(async (componentIds) => {
    const rows = await this.scope.query(
      `SELECT d.* FROM ring_deployments d
         JOIN deployment_rings r ON r.org_id = d.org_id AND r.id = d.ring_id
        WHERE d.org_id = $1 AND d.component_id = ANY($2::uuid[])
        ORDER BY d.component_id, r.position`,
      [this.scope.orgId, componentIds],
    );
    const deployments = await this.hydrate(RingDeployment, rows);
    return componentIds.map((id) => deployments.filter((d) => d.componentId === id));
  });

  /** What is deployed in each ring: one row per component, oldest arrival first. */
  readonly deploymentsInRing = new DataLoader<string, RingDeployment[]>(async (ringIds) => {
    const rows = await this.scope.query(
      `SELECT * FROM ring_deployments WHERE org_id = $1 AND ring_id = ANY($2::uuid[]) ORDER BY ring_id, updated_at, component_id`,
      [this.scope.orgId, ringIds],
    );
    const deployments = await this.hydrate(RingDeployment, rows);
    return ringIds.map((id) => deployments.filter((d) => d.ringId === id));
  });

  /** One page of promotions into each ring, newest first (ids are UUIDv7: time-ordered). */
  promotionsIntoRing(page: Page): DataLoader<string, DeploymentPromotion[]> {
    const key = pageKey(page);
    let loader = this.promotionPages.get(key);
    if (!loader) {
      loader = new DataLoader(async (ringIds) => {
        const { where, order } = keyset(page, 't.id', '$3::uuid', true);
        const rows = await this.scope.query(
          `SELECT c.* FROM unnest($2::uuid[]) AS p(id)
           CROSS JOIN LATERAL (
             SELECT * FROM deployment_promotions t
              WHERE t.org_id = $1 AND t.to_ring_id = p.id AND ${where}
              ${order} LIMIT $4
           ) c`,
          [this.scope.orgId, ringIds, page.cursor, page.limit + 1],
        );
        const promotions = await this.hydrate(DeploymentPromotion, rows);
        return ringIds.map((id) => promotions.filter((p) => p.toRingId === id));
      });
      this.promotionPages.set(key, loader);
    }
    return loader;
  }

  /** After a change: later reads of this request must not see cached rows (positions may have shifted). */
  clear(): void {
    this.ring.clearAll();
    this.promotion.clearAll();
    this.promotionCount.clearAll();
    this.ringsOfWorkspace.clearAll();
    this.deploymentsOfComponent.clearAll();
    this.deploymentsInRing.clearAll();
    this.promotionPages.clear();
  }
}
