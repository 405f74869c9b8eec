import { Arg, Args, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { WorkspaceRole } from '../../auth/roles';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { Organization } from '../organization/organization.entity';
import { Workspace } from '../workspace/workspace.entity';
import { OrgMember, OrgMemberConnection, WorkspaceMember } from './member.entity';
import { AddMemberInput, UpdateMemberInput } from './member.inputs';
import { memberService } from './member.service';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => Organization)
export class OrganizationMembersResolver {
  @FieldResolver(() => OrgMemberConnection, { description: "The organization's users and their roles." })
  @RequiresScopes('org:read')
  members(
    @Root() _org: Organization,
    @Args(() => PageArgs) args: PageArgs,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Connection<OrgMember & { id: string }>> {
    return memberService.page(
      ctx,
      toPage(args, (key) => key.length <= 200),
    );
  }
}

@Resolver(() => Workspace)
export class WorkspaceMembersResolver {
  @FieldResolver(() => [WorkspaceMember], {
    description: 'Users with a role in this workspace (cross-workspace roles not listed).',
  })
  @RequiresScopes('workspaces:read')
  members(@Root() workspace: Workspace, @RequestCtx() ctx: RequestContext): Promise<WorkspaceMember[]> {
    return memberService.workspaceMembers(ctx, workspace.id);
  }
}

@Resolver(() => OrgMember)
export class MemberResolver {
  @Mutation(() => OrgMember, { nullable: true, description: 'Only owners can add an owner.' })
  @RequiresScopes('members:write')
  addMember(
    @Arg('input', () => AddMemberInput, { description: 'The user to add and their organization role.' })
    input: AddMemberInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<OrgMember> {
    return memberService.add(ctx, input);
  }

  @Mutation(() => OrgMember, {
    nullable: true,
    description: 'Only owners can change an owner; the last owner cannot be demoted.',
  })
  @RequiresScopes('members:write')
  updateMember(
    @Arg('userId', () => ID, { description: "The member's user id (the `sub` of their tokens)." }) userId: string,
    @Arg('input', () => UpdateMemberInput, { description: 'The role or display name to change.' })
    input: UpdateMemberInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<OrgMember> {
    return memberService.update(ctx, userId, input);
  }

  @Mutation(() => ID, {
    nullable: true,
    description: 'Removes the user from the organization (and its workspaces); the last owner cannot be removed.',
  })
  @RequiresScopes('members:write')
  removeMember(
    @Arg('userId', () => ID, { description: "The member's user id (the `sub` of their tokens)." }) userId: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<string> {
    return memberService.remove(ctx, userId);
  }

  @Mutation(() => WorkspaceMember, {
    nullable: true,
    description: "Gives an organization member a role in a workspace (the workspace's admins).",
  })
  @RequiresScopes('workspaces:write')
  setWorkspaceMember(
    @Arg('workspaceId', () => ID, { description: 'Global id of the Workspace.' }) workspaceId: string,
    @Arg('userId', () => ID, { description: "An organization member's user id." }) userId: string,
    @Arg('role', () => WorkspaceRole, { description: 'Their role in the workspace.' }) role: WorkspaceRole,
    @RequestCtx() ctx: RequestContext,
  ): Promise<WorkspaceMember> {
    return memberService.setWorkspaceMember(ctx, workspaceId, userId, role);
  }

  @Mutation(() => ID, {
    description: "Removes a member's role in a workspace (workspace admins); returns their user id.",
    nullable: true,
  })
  @RequiresScopes('workspaces:write')
  removeWorkspaceMember(
    @Arg('workspaceId', () => ID, { description: 'Global id of the Workspace.' }) workspaceId: string,
    @Arg('userId', () => ID, { description: "The member's user id." }) userId: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<string> {
    return memberService.removeWorkspaceMember(ctx, workspaceId, userId);
  }
}
