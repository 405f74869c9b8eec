import { Node } from '../../graphql/node';
import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { TenantEntity } from '../../db/tenant-entity';
import { ConnectionType } from '../../graphql/pagination';
import { RequiresScopes } from '../../auth/decorators';

/** A stage of a workspace's release pipeline, deploying to one of the workspace's environments. */
@Entity({ name: 'deployment_rings' })
@ObjectType({
  implements: Node,
  description:
    'A stage of the release pipeline of a workspace (position 0 first), bound to an environment of the same workspace.',
})
@RequiresScopes('workspaces:read')
export class DeploymentRing extends TenantEntity {
  @Column('uuid', { name: 'workspace_id' })
  @Field(() => ID, { description: 'Global id of the workspace the ring belongs to.' })
  workspaceId: string;

  @Column('text')
  @Field(() => String, { description: 'Unique within the workspace.' })
  name: string;

  @Column('integer')
  @Field(() => Int, {
    description:
      'Order in the pipeline: 0, 1, 2… without gaps. A version enters at 0 and is promoted one ring at a time.',
  })
  position: number;

  @Column('uuid', { name: 'environment_id' })
  @Field(() => ID, { description: 'Global id of the environment the ring deploys to.' })
  environmentId: string;
}

/** One step of a component version through the rings. Append-only. */
@Entity({ name: 'deployment_promotions' })
@ObjectType({
  implements: Node,
  description:
    'A version of a component entering a ring: deployed into the first ring, or promoted from the ring before. Append-only.',
})
@RequiresScopes('workspaces:read')
export class DeploymentPromotion {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @PrimaryColumn('uuid')
  @Field(() => ID, { description: 'Global id of the promotion (Node).' })
  id: string;

  @Column('uuid', { name: 'workspace_id' })
  workspaceId: string;

  @Column('uuid', { name: 'component_id' })
  @Field(() => ID, { description: 'Global id of the component promoted.' })
  componentId: string;

  @Column('uuid', { name: 'from_ring_id', nullable: true })
  @Field(() => ID, { nullable: true, description: 'Null for a deploy into the first ring.' })
  fromRingId: string | null;

  @Column('uuid', { name: 'to_ring_id' })
  @Field(() => ID, { description: 'Global id of the ring the version entered.' })
  toRingId: string;

  @Column('text')
  @Field(() => String, { description: 'The version that entered the ring.' })
  version: string;

  @Column('text', { name: 'promoted_by' })
  @Field(() => String, { description: 'Who did it: the token subject (a user id, or apikey:<id>).' })
  promotedBy: string;

  @Column('text', { name: 'request_id' })
  @Field(() => String, { description: 'The request id (x-request-id) of the mutation that did it.' })
  requestId: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When the version entered the ring.' })
  createdAt: Date;
}

export const DeploymentPromotionConnection = ConnectionType(DeploymentPromotion);

/** What is in a ring now: one row per (ring, component) that has ever been deployed there. */
@Entity({ name: 'ring_deployments' })
@ObjectType({ description: 'The version of a component currently in a ring.' })
@RequiresScopes('workspaces:read')
export class RingDeployment {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @Column('uuid', { name: 'workspace_id' })
  workspaceId: string;

  @PrimaryColumn('uuid', { name: 'ring_id' })
  @Field(() => ID, { description: 'Global id of the ring.' })
  ringId: string;

  @PrimaryColumn('uuid', { name: 'component_id' })
  @Field(() => ID, { description: 'Global id of the component.' })
  componentId: string;

  @Column('text')
  @Field(() => String, { description: 'The version currently in the ring.' })
  version: string;

  @Column('uuid', { name: 'promotion_id' })
  promotionId: string;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When this version entered the ring.' })
  deployedAt: Date;
}
