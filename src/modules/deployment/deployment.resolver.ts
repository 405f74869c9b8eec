import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { tenantOf, type GatewayContext } from '../../graphql/context';
import { UnauthenticatedError } from '../../errors';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { Workspace } from '../workspace/workspace.entity';
import { workspaceService } from '../workspace/workspace.service';
import { Environment } from '../environment/environment.entity';
import { environmentService } from '../environment/environment.service';
import { Component } from '../component/component.entity';
import { componentService } from '../component/component.service';
import { DeploymentPromotion, DeploymentPromotionConnection, DeploymentRing, RingDeployment } from './deployment.entity';
import { CreateDeploymentRingInput, DeployComponentInput, PromoteComponentInput, UpdateDeploymentRingInput } from './deployment.inputs';
import { deploymentService, type Actor } from './deployment.service';
import { RequiresScopes } from '../../auth/decorators';

function actorOf(ctx: GatewayContext): Actor {
  if (!ctx.principal) throw new UnauthenticatedError();
  return { subject: ctx.principal.subject, requestId: ctx.requestId };
}

@Resolver(() => DeploymentRing)
export class DeploymentRingResolver {
  @FieldResolver(() => Workspace, { description: 'The workspace the ring belongs to.' })
  workspace(@Root() ring: DeploymentRing, @Ctx() ctx: GatewayContext): Promise<Workspace> {
    return workspaceService.get(tenantOf(ctx).loaders, ring.workspaceId);
  }

  @FieldResolver(() => Environment, { description: 'The environment this ring deploys to.' })
  environment(@Root() ring: DeploymentRing, @Ctx() ctx: GatewayContext): Promise<Environment> {
    return environmentService.get(tenantOf(ctx).loaders, ring.environmentId);
  }

  @FieldResolver(() => DeploymentPromotionConnection, { description: 'Versions that entered this ring (deploys and promotions into it), newest first.' })
  promotions(@Root() ring: DeploymentRing, @Args(() => PageArgs) args: PageArgs, @Ctx() ctx: GatewayContext): Promise<Connection<DeploymentPromotion>> {
    return deploymentService.promotionsIntoRing(tenantOf(ctx), ring.id, toPage(args));
  }

  @Mutation(() => DeploymentRing, { nullable: true, description: 'Workspace admins. Without position, the ring is appended at the end of the pipeline.' })
  @RequiresScopes('deployments:write')
  createDeploymentRing(@Arg('input', () => CreateDeploymentRingInput, { description: 'The new ring; appended last unless a position is given.' }) input: CreateDeploymentRingInput, @Ctx() ctx: GatewayContext): Promise<DeploymentRing> {
    return deploymentService.create(tenantOf(ctx), input);
  }

  @Mutation(() => DeploymentRing, { nullable: true, description: 'Workspace admins. Renames the ring or points it at another environment of its workspace.' })
  @RequiresScopes('deployments:write')
  updateDeploymentRing(
    @Arg('id', () => ID, { description: 'Global id of the DeploymentRing.' }) id: string,
    @Arg('input', () => UpdateDeploymentRingInput, { description: 'The fields to change; omitted fields are kept.' }) input: UpdateDeploymentRingInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<DeploymentRing> {
    return deploymentService.update(tenantOf(ctx), id, input);
  }

  @Mutation(() => ID, {
    nullable: true,
    description: 'Workspace admins. Refused (BAD_USER_INPUT) for a ring with promotion history; the rings after it move up. Returns the id.',
  })
  @RequiresScopes('deployments:write')
  deleteDeploymentRing(@Arg('id', () => ID, { description: 'Global id of the DeploymentRing (refused while it has promotion history).' }) id: string, @Ctx() ctx: GatewayContext): Promise<string> {
    return deploymentService.delete(tenantOf(ctx), id);
  }

  @Mutation(() => DeploymentPromotion, { nullable: true, description: 'Workspace developers. Puts any version of a component into the first ring (position 0).' })
  @RequiresScopes('deployments:write')
  deployComponent(@Arg('input', () => DeployComponentInput, { description: 'Component, first ring and version to deploy.' }) input: DeployComponentInput, @Ctx() ctx: GatewayContext): Promise<DeploymentPromotion> {
    return deploymentService.deploy(tenantOf(ctx), input, actorOf(ctx));
  }

  @Mutation(() => DeploymentPromotion, {
    nullable: true,
    description: 'Workspace developers. Promotes the version currently in fromRing into the ring immediately after it.',
  })
  @RequiresScopes('deployments:write')
  promoteComponent(@Arg('input', () => PromoteComponentInput, { description: 'Component, rings and version to promote.' }) input: PromoteComponentInput, @Ctx() ctx: GatewayContext): Promise<DeploymentPromotion> {
    return deploymentService.promote(tenantOf(ctx), input, actorOf(ctx));
  }
}

@Resolver(() => DeploymentPromotion)
export class DeploymentPromotionResolver {
  @FieldResolver(() => Component, { description: 'The component promoted.' })
  component(@Root() promotion: DeploymentPromotion, @Ctx() ctx: GatewayContext): Promise<Component> {
    return componentService.get(tenantOf(ctx).loaders, promotion.componentId);
  }

  @FieldResolver(() => DeploymentRing, { nullable: true, description: 'Null for a deploy into the first ring.' })
  fromRing(@Root() promotion: DeploymentPromotion, @Ctx() ctx: GatewayContext): Promise<DeploymentRing> | null {
    return promotion.fromRingId ? deploymentService.ring(tenantOf(ctx), promotion.fromRingId) : null;
  }

  @FieldResolver(() => DeploymentRing, { description: 'The ring the version entered.' })
  toRing(@Root() promotion: DeploymentPromotion, @Ctx() ctx: GatewayContext): Promise<DeploymentRing> {
    return deploymentService.ring(tenantOf(ctx), promotion.toRingId);
  }
}

@Resolver(() => RingDeployment)
export class RingDeploymentResolver {
  @FieldResolver(() => DeploymentRing, { description: 'The ring this version is in.' })
  ring(@Root() deployment: RingDeployment, @Ctx() ctx: GatewayContext): Promise<DeploymentRing> {
    return deploymentService.ring(tenantOf(ctx), deployment.ringId);
  }

  @FieldResolver(() => Component, { description: 'The component deployed.' })
  component(@Root() deployment: RingDeployment, @Ctx() ctx: GatewayContext): Promise<Component> {
    return componentService.get(tenantOf(ctx).loaders, deployment.componentId);
  }

  @FieldResolver(() => DeploymentPromotion, { description: 'The history entry that put this version here.' })
  promotion(@Root() deployment: RingDeployment, @Ctx() ctx: GatewayContext): Promise<DeploymentPromotion> {
    return deploymentService.promotion(tenantOf(ctx), deployment.promotionId);
  }
}

@Resolver(() => Workspace)
export class WorkspaceDeploymentRingsResolver {
  @FieldResolver(() => [DeploymentRing], { description: 'The release pipeline: rings in position order (at most 20).' })
  @RequiresScopes('workspaces:read')
  deploymentRings(@Root() workspace: Workspace, @Ctx() ctx: GatewayContext): Promise<DeploymentRing[]> {
    return deploymentService.ringsOfWorkspace(tenantOf(ctx), workspace.id);
  }
}

@Resolver(() => Component)
export class ComponentDeploymentsResolver {
  @FieldResolver(() => [RingDeployment], { description: 'Which version of this component is in which ring, in ring order.' })
  @RequiresScopes('workspaces:read')
  deployments(@Root() component: Component, @Ctx() ctx: GatewayContext): Promise<RingDeployment[]> {
    return deploymentService.deploymentsOfComponent(tenantOf(ctx), component.id);
  }
}
