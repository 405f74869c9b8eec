import { Field, InputType } from 'type-graphql';
import { IsEnum } from 'class-validator';
import { WorkspaceRole } from '../../auth/roles';
import { OrgMember, WorkspaceMember } from '../../modules/member/member.entity';
import { AddMemberInput, UpdateMemberInput } from '../../modules/member/member.inputs';
import { memberService } from '../../modules/member/member.service';
import { ORG, route, WORKSPACE, type Route } from '../route';

/**
 * The body of PUT …/workspaces/{workspace_id}/members/{user_id}: GraphQL's `setWorkspaceMember(role:)`
 * argument as an input class, so REST validates it with class-validator like every other body. Not used
 * by any GraphQL field, so type-graphql does not emit it.
 */
@InputType('SetWorkspaceMemberInput', { description: 'The role to give the member in the workspace.' })
export class SetWorkspaceMemberInput {
  @Field(() => WorkspaceRole, { description: 'Their role in the workspace.' })
  @IsEnum(WorkspaceRole)
  role: WorkspaceRole;
}

const USER = { user_id: "The member's user id (the `sub` of their tokens). Not a member of your organization: 404." };
const MEMBERS = `${ORG}/members`;
const WORKSPACE_MEMBERS = `${WORKSPACE}/members`;
const tag = 'members';

/**
 * Organization members (`/orgs/{org_id}/members[/{user_id}]`) and workspace roles
 * (`…/workspaces/{workspace_id}/members[/{user_id}]`), as GraphQL models them: `Organization.members`,
 * addMember/updateMember/removeMember, `Workspace.members`, setWorkspaceMember/removeWorkspaceMember.
 * GraphQL has no read of one member, so neither has REST (no ETag on members; changes are last-writer-wins
 * as over GraphQL, and the services lock the membership rows).
 */
export const memberRoutes: Route[] = [
  route({
    method: 'get',
    path: MEMBERS,
    operationId: 'listMembers',
    summary: "List the organization's members and their roles, by user id",
    tag,
    scopes: ['org:read'],
    result: { kind: 'list', type: OrgMember },
    handle: (ctx, req) => memberService.page(ctx, req.page),
  }),
  route<AddMemberInput, OrgMember>({
    method: 'post',
    path: MEMBERS,
    operationId: 'addMember',
    summary: 'Add a user to the organization (only owners can add an owner)',
    tag,
    scopes: ['members:write', 'org:read'],
    body: { input: AddMemberInput },
    result: { kind: 'object', type: OrgMember },
    status: 201,
    audit: { operation: 'addMember', targetType: 'OrgMember', targetId: (m) => m.userId },
    handle: (ctx, req) => memberService.add(ctx, req.body),
  }),
  route<UpdateMemberInput, OrgMember>({
    method: 'patch',
    path: `${MEMBERS}/{user_id}`,
    operationId: 'updateMember',
    summary: "Change a member's role, cross-workspace role or name (only owners can change an owner)",
    tag,
    scopes: ['members:write', 'org:read'],
    textParams: USER,
    body: { input: UpdateMemberInput, partial: true },
    result: { kind: 'object', type: OrgMember },
    audit: { operation: 'updateMember', targetType: 'OrgMember', targetId: (_m, req) => req.params.user_id },
    handle: (ctx, req) => memberService.update(ctx, req.params.user_id, req.body),
  }),
  route({
    method: 'delete',
    path: `${MEMBERS}/{user_id}`,
    operationId: 'removeMember',
    summary: 'Remove a user from the organization and its workspaces (the last owner cannot be removed)',
    tag,
    scopes: ['members:write'],
    textParams: USER,
    result: { kind: 'none' },
    audit: { operation: 'removeMember', targetType: null, targetId: (_r, req) => req.params.user_id },
    handle: (ctx, req) => memberService.remove(ctx, req.params.user_id),
  }),
  route({
    method: 'get',
    path: WORKSPACE_MEMBERS,
    operationId: 'listWorkspaceMembers',
    summary: 'List the users with a role in this workspace (cross-workspace roles are not listed)',
    tag,
    scopes: ['workspaces:read'],
    result: { kind: 'array', type: WorkspaceMember },
    handle: (ctx, req) => memberService.workspaceMembers(ctx, req.params.workspace_id),
  }),
  route<SetWorkspaceMemberInput, WorkspaceMember>({
    method: 'put',
    path: `${WORKSPACE_MEMBERS}/{user_id}`,
    operationId: 'setWorkspaceMember',
    summary: 'Give an organization member a role in this workspace, or change it (workspace admins)',
    tag,
    scopes: ['workspaces:write', 'workspaces:read'],
    textParams: USER,
    body: { input: SetWorkspaceMemberInput },
    result: { kind: 'object', type: WorkspaceMember },
    audit: {
      operation: 'setWorkspaceMember',
      targetType: 'WorkspaceMember',
      targetId: (_m, req) => req.params.user_id,
    },
    handle: (ctx, req) =>
      memberService.setWorkspaceMember(ctx, req.params.workspace_id, req.params.user_id, req.body.role),
  }),
  route({
    method: 'delete',
    path: `${WORKSPACE_MEMBERS}/{user_id}`,
    operationId: 'removeWorkspaceMember',
    summary: "Remove a member's role in this workspace (workspace admins)",
    tag,
    scopes: ['workspaces:write'],
    textParams: USER,
    result: { kind: 'none' },
    audit: { operation: 'removeWorkspaceMember', targetType: null, targetId: (_r, req) => req.params.user_id },
    handle: (ctx, req) => memberService.removeWorkspaceMember(ctx, req.params.workspace_id, req.params.user_id),
  }),
];
