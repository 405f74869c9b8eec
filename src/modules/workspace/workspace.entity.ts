import { Node } from '../../graphql/node';
import { Column, Entity } from 'typeorm';
import { TenantEntity } from '../../db/tenant-entity';
import { ConnectionType } from '../../graphql/pagination';
import { Field, ObjectType } from 'type-graphql';
import { RequiresScopes } from '../../auth/decorators';

@Entity({ name: 'workspaces' })
@ObjectType({
  implements: Node,
  description: 'A partition of an organization: environments, components and their configuration.',
})
@RequiresScopes('workspaces:read')
export class Workspace extends TenantEntity {
  @Column('text')
  @Field(() => String, { description: 'Display name, 1 to 200 characters (not unique).' })
  name: string;

  @Column('text', { nullable: true })
  @Field(() => String, { description: 'Free text up to 2000 characters, or null.', nullable: true })
  description: string | null;
}

export const WorkspaceConnection = ConnectionType(Workspace);
