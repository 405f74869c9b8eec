import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { OrgRole, WorkspaceRole } from '../../auth/roles';
import { ConnectionType } from '../../graphql/pagination';
import { RequiresScopes } from '../../auth/decorators';

registerEnumType(OrgRole, {
  name: 'OrgRole',
  description:
    "A member's role in the organization. It caps the scopes of the member's tokens and decides which workspaces they see.",
  valuesConfig: {
    OWNER: {
      description:
        'Everything, including granting and removing the owner role; sees every workspace as its admin. An organization always keeps at least one owner.',
    },
    ADMIN: { description: 'Everything except owner changes; sees every workspace as its admin.' },
    MEMBER: {
      description:
        'Works inside the workspaces they belong to (or all, with a cross-workspace grant); their workspace role decides what they may change there.',
    },
    VIEWER: { description: 'Reads the organization and the workspaces they belong to; changes nothing.' },
    BILLING: {
      description:
        'Reads and records billing (subscriptions, credits, usage) and reads the organization; sees no workspace.',
    },
  },
});
registerEnumType(WorkspaceRole, {
  name: 'WorkspaceRole',
  description: "A member's role inside one workspace; ordered VIEWER < DEVELOPER < ADMIN.",
  valuesConfig: {
    VIEWER: { description: 'Reads the workspace and everything in it.' },
    DEVELOPER: {
      description: 'Also creates and changes environments, components and connectors, deploys and promotes.',
    },
    ADMIN: {
      description:
        'Also renames or deletes the workspace, manages its members, rings, LLM settings and environment credentials.',
    },
  },
});

/** A user's membership of an organization. `userId` is the `sub` of the user's tokens. */
@Entity({ name: 'org_members' })
@ObjectType({ description: 'A user of the organization, with their organization role.' })
@RequiresScopes('org:read')
export class OrgMember {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @PrimaryColumn('text', { name: 'user_id' })
  @Field(() => ID, { description: "The user's id: the `sub` claim of their tokens." })
  userId: string;

  @Column('text')
  @Field(() => String, { description: "The member's e-mail address (lower-case)." })
  email: string;

  @Column('text', { name: 'display_name', nullable: true })
  @Field(() => String, { description: 'Name shown in the UI, or null.', nullable: true })
  displayName: string | null;

  @Column('text')
  @Field(() => OrgRole, {
    description: "Organization role: caps the scopes of the member's tokens and decides which workspaces they see.",
  })
  role: OrgRole;

  @Column('text', { name: 'all_workspaces_role', nullable: true })
  @Field(() => WorkspaceRole, { nullable: true, description: 'A cross-workspace grant: this role in every workspace.' })
  allWorkspacesRole: WorkspaceRole | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When the member was added.' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  @Field(() => Date, { description: "When the member's role or name last changed." })
  updatedAt: Date;
}

@Entity({ name: 'workspace_members' })
@ObjectType({ description: "A user's role in one workspace." })
@RequiresScopes('workspaces:read')
export class WorkspaceMember {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @PrimaryColumn('uuid', { name: 'workspace_id' })
  @Field(() => ID, { description: 'Global id of the workspace.' })
  workspaceId: string;

  @PrimaryColumn('text', { name: 'user_id' })
  @Field(() => ID, { description: "The member's user id (the `sub` of their tokens)." })
  userId: string;

  @Column('text')
  @Field(() => WorkspaceRole, { description: 'Their role in this workspace.' })
  role: WorkspaceRole;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When they were given the role.' })
  createdAt: Date;
}

export const OrgMemberConnection = ConnectionType(OrgMember);
