import type { RequestContext } from '../../context/request-context';
import { DeploymentPromotion, DeploymentRing, RingDeployment } from '../../modules/deployment/deployment.entity';
import {
  CreateDeploymentRingInput,
  DeployComponentInput,
  PromoteComponentInput,
  UpdateDeploymentRingInput,
} from '../../modules/deployment/deployment.inputs';
import { deploymentService } from '../../modules/deployment/deployment.service';
import { NotFoundError } from '../../errors';
import { inWorkspace, route, WORKSPACE, type RestRequest, type Route } from '../route';

/**
 * The release pipeline of a workspace:
 * - `…/deployments/rings` (GET, POST) and `…/deployments/rings/{ring_id}` (GET, PATCH, DELETE): the rings;
 * - `…/rings/{ring_id}/deployments`: which version of each component is in the ring (GET), and deploying
 *   a version into the first ring (POST, GraphQL `deployComponent`);
 * - `…/rings/{ring_id}/promotions`: the versions that entered the ring, newest first (GET), and promoting
 *   a version from the ring before it into this one (POST, GraphQL `promoteComponent`);
 *   `…/promotions/{promotion_id}` reads one history entry.
 * Deploys and promotions answer 201 with the history entry (DeploymentPromotion) and its Location.
 */
const RINGS = `${WORKSPACE}/deployments/rings`;
const RING = `${RINGS}/{ring_id}`;
const tag = 'deployments';

/** The ring of the path, in the workspace of the path. */
const ring = async (ctx: RequestContext, req: RestRequest) =>
  inWorkspace(req, await deploymentService.ring(ctx, req.params.ring_id));
const current = { type: DeploymentRing, load: ring };
const promotionLocation = (p: DeploymentPromotion, req: RestRequest) =>
  `/orgs/${req.params.org_id}/workspaces/${req.params.workspace_id}/deployments/rings/${p.toRingId}/promotions/${p.id}`;

export const deploymentRoutes: Route[] = [
  route({
    method: 'get',
    path: RINGS,
    operationId: 'listDeploymentRings',
    summary: "The workspace's release pipeline: its rings in position order (at most 20)",
    tag,
    scopes: ['workspaces:read'],
    result: { kind: 'array', type: DeploymentRing },
    handle: (ctx, req) => deploymentService.ringsOfWorkspace(ctx, req.params.workspace_id),
  }),
  route<CreateDeploymentRingInput, DeploymentRing>({
    method: 'post',
    path: RINGS,
    operationId: 'createDeploymentRing',
    summary: 'Create a ring (workspace admins); appended last unless a position is given',
    tag,
    scopes: ['deployments:write', 'workspaces:read'],
    body: {
      input: CreateDeploymentRingInput,
      set: { workspaceId: (p) => p.workspace_id },
      schemaName: 'CreateDeploymentRing',
    },
    result: { kind: 'object', type: DeploymentRing },
    audit: { operation: 'createDeploymentRing', targetType: 'DeploymentRing' },
    location: (r, req) => `/orgs/${req.params.org_id}/workspaces/${req.params.workspace_id}/deployments/rings/${r.id}`,
    handle: (ctx, req) => deploymentService.create(ctx, req.body),
  }),
  route({
    method: 'get',
    path: RING,
    operationId: 'getDeploymentRing',
    summary: 'Read a ring',
    tag,
    scopes: ['workspaces:read'],
    result: { kind: 'object', type: DeploymentRing },
    handle: ring,
  }),
  route<UpdateDeploymentRingInput, DeploymentRing>({
    method: 'patch',
    path: RING,
    operationId: 'updateDeploymentRing',
    summary: 'Rename a ring or point it at another environment of its workspace (workspace admins)',
    tag,
    scopes: ['deployments:write', 'workspaces:read'],
    body: { input: UpdateDeploymentRingInput, partial: true },
    result: { kind: 'object', type: DeploymentRing },
    audit: { operation: 'updateDeploymentRing', targetType: 'DeploymentRing' },
    current,
    handle: async (ctx, req) => {
      await ring(ctx, req);
      return deploymentService.update(ctx, req.params.ring_id, req.body);
    },
  }),
  route({
    method: 'delete',
    path: RING,
    operationId: 'deleteDeploymentRing',
    summary: 'Delete a ring without promotion history (workspace admins); the rings after it move up',
    tag,
    scopes: ['deployments:write'],
    result: { kind: 'none' },
    audit: { operation: 'deleteDeploymentRing', targetType: null },
    current,
    handle: async (ctx, req) => {
      await ring(ctx, req);
      return deploymentService.delete(ctx, req.params.ring_id);
    },
  }),
  route({
    method: 'get',
    path: `${RING}/deployments`,
    operationId: 'listRingDeployments',
    summary: 'The version of each component currently in the ring',
    tag,
    scopes: ['workspaces:read'],
    result: { kind: 'array', type: RingDeployment },
    handle: async (ctx, req) => deploymentService.deploymentsInRing(ctx, (await ring(ctx, req)).id),
  }),
  route<DeployComponentInput, DeploymentPromotion>({
    method: 'post',
    path: `${RING}/deployments`,
    operationId: 'deployComponent',
    summary: 'Deploy a version of a component into this ring, which must be the first (workspace developers)',
    tag,
    scopes: ['deployments:write', 'workspaces:read'],
    body: { input: DeployComponentInput, set: { ringId: (p) => p.ring_id }, schemaName: 'DeployComponent' },
    result: { kind: 'object', type: DeploymentPromotion },
    audit: { operation: 'deployComponent', targetType: 'DeploymentPromotion', targetId: (p) => p.id },
    location: promotionLocation,
    handle: async (ctx, req) => {
      await ring(ctx, req);
      return deploymentService.deploy(ctx, req.body);
    },
  }),
  route({
    method: 'get',
    path: `${RING}/promotions`,
    operationId: 'listRingPromotions',
    summary: 'The versions that entered this ring (deploys and promotions into it), newest first',
    tag,
    scopes: ['workspaces:read'],
    result: { kind: 'list', type: DeploymentPromotion },
    handle: async (ctx, req) => deploymentService.promotionsIntoRing(ctx, (await ring(ctx, req)).id, req.page),
  }),
  route<PromoteComponentInput, DeploymentPromotion>({
    method: 'post',
    path: `${RING}/promotions`,
    operationId: 'promoteComponent',
    summary: 'Promote the version in the ring before this one (from_ring_id) into this ring (workspace developers)',
    tag,
    scopes: ['deployments:write', 'workspaces:read'],
    body: { input: PromoteComponentInput, set: { toRingId: (p) => p.ring_id }, schemaName: 'PromoteComponent' },
    result: { kind: 'object', type: DeploymentPromotion },
    audit: { operation: 'promoteComponent', targetType: 'DeploymentPromotion', targetId: (p) => p.id },
    location: promotionLocation,
    handle: async (ctx, req) => {
      await ring(ctx, req);
      return deploymentService.promote(ctx, req.body);
    },
  }),
  route({
    method: 'get',
    path: `${RING}/promotions/{promotion_id}`,
    operationId: 'getRingPromotion',
    summary: 'One entry of the ring’s history',
    tag,
    scopes: ['workspaces:read'],
    result: { kind: 'object', type: DeploymentPromotion },
    handle: async (ctx, req) => {
      const into = await ring(ctx, req);
      const promotion = await deploymentService.promotion(ctx, req.params.promotion_id);
      if (promotion.toRingId !== into.id) throw new NotFoundError('DeploymentPromotion', '');
      return promotion;
    },
  }),
];
