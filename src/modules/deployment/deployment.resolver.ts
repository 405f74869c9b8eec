import { Arg, Args, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { Workspace } from '../workspace/workspace.entity';
import { workspaceService } from '../workspace/workspace.service';
import { Environment } from '../environment/environment.entity';
import { environmentService } from '../environment/environment.service';
import { Component } from '../component/component.entity';
import { componentService } from '../component/component.service';
import {
  DeploymentPromotion,
  DeploymentPromotionConnection,
  DeploymentRing,
  RingDeployment,
} from './deployment.entity';
import {
  CreateDeploymentRingInput,
  DeployComponentInput,
  PromoteComponentInput,
  UpdateDeploymentRingInput,
} from './deployment.inputs';
import { deploymentService } from './deployment.service';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => DeploymentRing)
export class DeploymentRingResolver {
  @FieldResolver(() => Workspace, { description: 'The workspace the ring belongs to.' })
  workspace(@Root() ring: DeploymentRing, @RequestCtx() ctx: RequestContext): Promise<Workspace> {
    return workspaceService.get(ctx, ring.workspaceId);
  }

  @FieldResolver(() => Environment, { description: 'The environment this ring deploys to.' })
  environment(@Root() ring: DeploymentRing, @RequestCtx() ctx: RequestContext): Promise<Environment> {
    return environmentService.get(ctx, ring.environmentId);
  }

  @FieldResolver(() => DeploymentPromotionConnection, {
    description: 'Versions that entered this ring (deploys and promotions into it), newest first.',
  })
  promotions(
    @Root() ring: DeploymentRing,
    @Args(() => PageArgs) args: PageArgs,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Connection<DeploymentPromotion>> {
    return deploymentService.promotionsIntoRing(ctx, ring.id, toPage(args));
  }

  @Mutation(() => DeploymentRing, {
    nullable: true,
    description: 'Workspace admins. Without position, the ring is appended at the end of the pipeline.',
  })
  @RequiresScopes('deployments:write')
  createDeploymentRing(
    @Arg('input', () => CreateDeploymentRingInput, {
      description: 'The new ring; appended last unless a position is given.',
    })
    input: CreateDeploymentRingInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<DeploymentRing> {
    return deploymentService.create(ctx, input);
  }

  @Mutation(() => DeploymentRing, {
    nullable: true,
    description: 'Workspace admins. Renames the ring or points it at another environment of its workspace.',
  })
  @RequiresScopes('deployments:write')
  updateDeploymentRing(
    @Arg('id', () => ID, { description: 'Global id of the DeploymentRing.' }) id: string,
    @Arg('input', () => UpdateDeploymentRingInput, { description: 'The fields to change; omitted fields are kept.' })
    input: UpdateDeploymentRingInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<DeploymentRing> {
    return deploymentService.update(ctx, id, input);
  }

  @Mutation(() => ID, {
    nullable: true,
    description:
      'Workspace admins. Refused (BAD_USER_INPUT) for a ring with promotion history; the rings after it move up. Returns the id.',
  })
  @RequiresScopes('deployments:write')
  deleteDeploymentRing(
    @Arg('id', () => ID, { description: 'Global id of the DeploymentRing (refused while it has promotion history).' })
    id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<string> {
    return deploymentService.delete(ctx, id);
  }

  @Mutation(() => DeploymentPromotion, {
    nullable: true,
    description: 'Workspace developers. Puts any version of a component into the first ring (position 0).',
  })
  @RequiresScopes('deployments:write')
  deployComponent(
    @Arg('input', () => DeployComponentInput, { description: 'Component, first ring and version to deploy.' })
    input: DeployComponentInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<DeploymentPromotion> {
    return deploymentService.deploy(ctx, input);
  }

  @Mutation(() => DeploymentPromotion, {
    nullable: true,
    description: 'Workspace developers. Promotes the version currently in fromRing into the ring immediately after it.',
  })
  @RequiresScopes('deployments:write')
  promoteComponent(
    @Arg('input', () => PromoteComponentInput, { description: 'Component, rings and version to promote.' })
    input: PromoteComponentInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<DeploymentPromotion> {
    return deploymentService.promote(ctx, input);
  }
}

@Resolver(() => DeploymentPromotion)
export class DeploymentPromotionResolver {
  @FieldResolver(() => Component, { description: 'The component promoted.' })
  component(@Root() promotion: DeploymentPromotion, @RequestCtx() ctx: RequestContext): Promise<Component> {
    return componentService.get(ctx, promotion.componentId);
  }

  @FieldResolver(() => DeploymentRing, { nullable: true, description: 'Null for a deploy into the first ring.' })
  fromRing(@Root() promotion: DeploymentPromotion, @RequestCtx() ctx: RequestContext): Promise<DeploymentRing> | null {
    return promotion.fromRingId ? deploymentService.ring(ctx, promotion.fromRingId) : null;
  }

  @FieldResolver(() => DeploymentRing, { description: 'The ring the version entered.' })
  toRing(@Root() promotion: DeploymentPromotion, @RequestCtx() ctx: RequestContext): Promise<DeploymentRing> {
    return deploymentService.ring(ctx, promotion.toRingId);
  }
}

@Resolver(() => RingDeployment)
export class RingDeploymentResolver {
  @FieldResolver(() => DeploymentRing, { description: 'The ring this version is in.' })
  ring(@Root() deployment: RingDeployment, @RequestCtx() ctx: RequestContext): Promise<DeploymentRing> {
    return deploymentService.ring(ctx, deployment.ringId);
  }

  @FieldResolver(() => Component, { description: 'The component deployed.' })
  component(@Root() deployment: RingDeployment, @RequestCtx() ctx: RequestContext): Promise<Component> {
    return componentService.get(ctx, deployment.componentId);
  }

  @FieldResolver(() => DeploymentPromotion, { description: 'The history entry that put this version here.' })
  promotion(@Root() deployment: RingDeployment, @RequestCtx() ctx: RequestContext): Promise<DeploymentPromotion> {
    return deploymentService.promotion(ctx, deployment.promotionId);
  }
}

@Resolver(() => Workspace)
export class WorkspaceDeploymentRingsResolver {
  @FieldResolver(() => [DeploymentRing], { description: 'The release pipeline: rings in position order (at most 20).' })
  @RequiresScopes('workspaces:read')
  deploymentRings(@Root() workspace: Workspace, @RequestCtx() ctx: RequestContext): Promise<DeploymentRing[]> {
    return deploymentService.ringsOfWorkspace(ctx, workspace.id);
  }
}

@Resolver(() => Component)
export class ComponentDeploymentsResolver {
  @FieldResolver(() => [RingDeployment], {
    description: 'Which version of this component is in which ring, in ring order.',
  })
  @RequiresScopes('workspaces:read')
  deployments(@Root() component: Component, @RequestCtx() ctx: RequestContext): Promise<RingDeployment[]> {
    return deploymentService.deploymentsOfComponent(ctx, component.id);
  }
}
