import { Workspace } from '../../modules/workspace/workspace.entity';
import { CreateWorkspaceInput, UpdateWorkspaceInput } from '../../modules/workspace/workspace.inputs';
import { workspaceService } from '../../modules/workspace/workspace.service';
import type { RequestContext } from '../../context/request-context';
import { ORG, route, WORKSPACE, type RestRequest, type Route } from '../route';

/** The workspace as GET shows it: the ETag If-Match is checked against. */
const load = {
  type: Workspace,
  load: (ctx: RequestContext, req: RestRequest) => workspaceService.get(ctx, req.params.workspace_id),
};

/** `/orgs/{org_id}/workspaces` and `/orgs/{org_id}/workspaces/{workspace_id}`. */
export const workspaceRoutes: Route[] = [
  route({
    method: 'get',
    path: `${ORG}/workspaces`,
    operationId: 'listWorkspaces',
    summary: 'List the workspaces you can see, oldest first',
    tag: 'workspaces',
    scopes: ['workspaces:read'],
    result: { kind: 'list', type: Workspace },
    handle: (ctx, req) => workspaceService.page(ctx, req.page),
  }),
  route<CreateWorkspaceInput, Workspace>({
    method: 'post',
    path: `${ORG}/workspaces`,
    operationId: 'createWorkspace',
    summary: 'Create a workspace (the creating user becomes its admin)',
    tag: 'workspaces',
    scopes: ['workspaces:write', 'workspaces:read'],
    body: { input: CreateWorkspaceInput },
    result: { kind: 'object', type: Workspace },
    audit: { operation: 'createWorkspace', targetType: 'Workspace' },
    location: (w, req) => `/orgs/${req.params.org_id}/workspaces/${w.id}`,
    handle: (ctx, req) => workspaceService.create(ctx, req.body),
  }),
  route({
    method: 'get',
    path: WORKSPACE,
    operationId: 'getWorkspace',
    summary: 'Read a workspace',
    tag: 'workspaces',
    scopes: ['workspaces:read'],
    result: { kind: 'object', type: Workspace },
    handle: (ctx, req) => workspaceService.get(ctx, req.params.workspace_id),
  }),
  route<UpdateWorkspaceInput, Workspace>({
    method: 'patch',
    path: WORKSPACE,
    operationId: 'updateWorkspace',
    summary: 'Rename or re-describe a workspace (workspace admins)',
    tag: 'workspaces',
    scopes: ['workspaces:write', 'workspaces:read'],
    body: { input: UpdateWorkspaceInput, partial: true },
    result: { kind: 'object', type: Workspace },
    audit: { operation: 'updateWorkspace', targetType: 'Workspace' },
    current: load,
    handle: (ctx, req) => workspaceService.update(ctx, req.params.workspace_id, req.body),
  }),
  route({
    method: 'delete',
    path: WORKSPACE,
    operationId: 'deleteWorkspace',
    summary: 'Delete a workspace with its environments and components (workspace admins)',
    tag: 'workspaces',
    scopes: ['workspaces:write'],
    result: { kind: 'none' },
    audit: { operation: 'deleteWorkspace', targetType: null },
    current: load,
    handle: (ctx, req) => workspaceService.delete(ctx, req.params.workspace_id),
  }),
];
