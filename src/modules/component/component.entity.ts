import { Node } from '../../graphql/node';
import { Column, Entity } from 'typeorm';
import { TenantEntity } from '../../db/tenant-entity';
import { ConnectionType } from '../../graphql/pagination';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { JSONObject } from '../../graphql/scalars';
import { RequiresScopes } from '../../auth/decorators';

export enum ComponentType {
  AGENT = 'agent',
  WORKFLOW = 'workflow',
  CODE_BLOCK = 'code_block',
  HOSTED_SERVICE = 'hosted_service',
}
registerEnumType(ComponentType, {
  name: 'ComponentType',
  description: "The kind of a component, as in the platform's `/components/{type}` paths.",
  valuesConfig: {
    AGENT: { description: 'An AI agent.' },
    WORKFLOW: { description: 'A workflow of steps.' },
    CODE_BLOCK: { description: 'A block of custom code.' },
    HOSTED_SERVICE: { description: 'A long-running hosted service.' },
  },
});

@Entity({ name: 'components' })
@ObjectType({ implements: Node, description: 'An agent, workflow, code block or hosted service of a workspace.' })
@RequiresScopes('components:read')
export class Component extends TenantEntity {
  @Column('uuid', { name: 'workspace_id' })
  @Field(() => ID, { description: 'Global id of the workspace the component belongs to.' })
  workspaceId: string;

  @Column('text')
  @Field(() => ComponentType, { description: 'Kind of component; fixed at creation.' })
  type: ComponentType;

  @Column('text')
  @Field(() => String, { description: 'Display name, 1 to 200 characters.' })
  name: string;

  @Column('jsonb')
  @Field(() => JSONObject, { description: 'Free-form JSON object (at most 64 KiB); never put secrets here.' })
  configuration: Record<string, unknown>;
}

export const ComponentConnection = ConnectionType(Component);
