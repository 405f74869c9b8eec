import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { ConnectionType } from '../../graphql/pagination';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

@Entity({ name: 'workspaces' })
@ObjectType({ description: 'A partition of an organization: environments, components and their configuration.' })
@Directive('@requiresScopes(scopes: [["workspaces:read"]])')
export class Workspace {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('text')
  @Field(() => String)
  name: string;

  @Column('text', { nullable: true })
  @Field(() => String, { nullable: true })
  description: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field(() => Date)
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  @Field(() => Date)
  updatedAt: Date;
}

export const WorkspaceConnection = ConnectionType(Workspace);
