import { Column, Entity } from 'typeorm';
import { TenantEntity } from '../../db/tenant-entity';
import { ConnectionType } from '../../graphql/pagination';
import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';

export enum ComponentType {
  agent = 'agent',
  workflow = 'workflow',
  code_block = 'code_block',
  hosted_service = 'hosted_service',
}
registerEnumType(ComponentType, { name: 'ComponentType' });

@Entity({ name: 'components' })
@ObjectType({ description: 'An agent, workflow, code block or hosted service of a workspace.' })
@Directive('@requiresScopes(scopes: [["components:read"]])')
export class Component extends TenantEntity {
  @Column('uuid', { name: 'workspace_id' })
  @Field(() => ID)
  workspaceId: string;

  @Column('text')
  @Field(() => ComponentType)
  type: ComponentType;

  @Column('text')
  @Field(() => String)
  name: string;

  @Column('jsonb')
  @Field(() => GraphQLJSONObject)
  configuration: Record<string, unknown>;
}

export const ComponentConnection = ConnectionType(Component);
