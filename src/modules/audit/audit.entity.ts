import { Node } from '../../graphql/node';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Field, ID, ObjectType } from 'type-graphql';
import { ConnectionType } from '../../graphql/pagination';
import { RequiresScopes } from '../../auth/decorators';

@Entity({ name: 'audit_log' })
@ObjectType({
  implements: Node,
  description: 'One change made in the organization: who, what, target, when, request id.',
})
@RequiresScopes('audit:read')
export class AuditEntry {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @PrimaryColumn('uuid')
  @Field(() => ID, { description: 'Global id of the entry (Node).' })
  id: string;

  @Column('timestamptz', { name: 'occurred_at' })
  @Field(() => Date, { description: 'When the change was committed.' })
  occurredAt: Date;

  @Column('text')
  @Field(() => String, { description: 'Token subject: a user id, apikey:<id>, or platform-admin.' })
  actor: string;

  @Column('text', { name: 'actor_kind' })
  @Field(() => String, { description: 'user, api_key or platform.' })
  actorKind: string;

  @Column('text')
  @Field(() => String, { description: 'The mutation (or platform operation) name.' })
  operation: string;

  @Column('text', { name: 'target_type', nullable: true })
  @Field(() => String, {
    description: 'GraphQL type of the changed object (e.g. Workspace), or null when the mutation returns only an id.',
    nullable: true,
  })
  targetType: string | null;

  @Column('text', { name: 'target_id', nullable: true })
  @Field(() => String, {
    description: 'Id of the changed object: a global id when targetType names a Node type, otherwise as stored.',
    nullable: true,
  })
  targetId: string | null;

  @Column('text', { name: 'request_id', nullable: true })
  @Field(() => String, {
    description: 'The request id of the change (the x-request-id response header), to correlate with logs.',
    nullable: true,
  })
  requestId: string | null;
}

export const AuditEntryConnection = ConnectionType(AuditEntry);
