import { Node } from '../../graphql/node';
import { Column, Entity } from 'typeorm';
import { TenantEntity } from '../../db/tenant-entity';
import { ConnectionType } from '../../graphql/pagination';
import { Directive, Field, ObjectType } from 'type-graphql';

@Entity({ name: 'workspaces' })
@ObjectType({ implements: Node, description: 'A partition of an organization: environments, components and their configuration.' })
@Directive('@requiresScopes(scopes: [["workspaces:read"]])')
export class Workspace extends TenantEntity {
  @Column('text')
  @Field(() => String)
  name: string;

  @Column('text', { nullable: true })
  @Field(() => String, { nullable: true })
  description: string | null;
}

export const WorkspaceConnection = ConnectionType(Workspace);
