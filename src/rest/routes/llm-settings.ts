import { Field, ObjectType } from 'type-graphql';
import type { RequestContext } from '../../context/request-context';
import { NotFoundError } from '../../errors';
import { WorkspaceLlmSettings } from '../../modules/llm/llm.entity';
import { WorkspaceLlmSettingsInput } from '../../modules/llm/llm.inputs';
import { llmService } from '../../modules/llm/llm.service';
import { route, WORKSPACE, type RestRequest, type Route } from '../route';

/**
 * A workspace's LLM settings as REST shows them: GraphQL's `WorkspaceLlmSettings` with its `active`
 * field (a field resolver there). Not reachable from the GraphQL schema, so not emitted there.
 */
@ObjectType('WorkspaceLlmSettingsWithStatus', {
  description: "A workspace's LLM proxy model routing; `active` says whether the organization lets it apply.",
})
export class WorkspaceLlmSettingsWithStatus extends WorkspaceLlmSettings {
  @Field(() => Boolean, {
    description:
      'False while the organization does not permit workspace LLM overrides: the proxy then ignores these settings.',
  })
  active: boolean;
}

async function withStatus(
  ctx: RequestContext,
  settings: WorkspaceLlmSettings,
): Promise<WorkspaceLlmSettingsWithStatus> {
  const active = await llmService.overridesAllowed(ctx);
  return Object.assign(Object.create(WorkspaceLlmSettingsWithStatus.prototype), settings, { active });
}

/**
 * GET of settings that were never set: 404 (GraphQL answers `llmSettings: null`). A REST resource that does
 * not exist is a 404, as GitHub answers for a repository's Pages site that is not configured; the detail
 * is the one 404, so it says nothing more than "not here".
 */
async function read(ctx: RequestContext, req: RestRequest): Promise<WorkspaceLlmSettingsWithStatus> {
  const settings = await llmService.get(ctx, req.params.workspace_id);
  if (!settings) throw new NotFoundError('LLM settings', req.params.workspace_id);
  return withStatus(ctx, settings);
}

const LLM = `${WORKSPACE}/llm-settings`;
const tag = 'llm-settings';

/** `…/workspaces/{workspace_id}/llm-settings`: read, replace (PUT, as GraphQL's set replaces), clear. */
export const llmSettingsRoutes: Route[] = [
  route({
    method: 'get',
    path: LLM,
    operationId: 'getWorkspaceLlmSettings',
    summary: "Read the workspace's LLM settings (404 when none are set)",
    tag,
    scopes: ['workspaces:read'],
    result: { kind: 'object', type: WorkspaceLlmSettingsWithStatus },
    handle: read,
  }),
  route<WorkspaceLlmSettingsInput, WorkspaceLlmSettingsWithStatus>({
    method: 'put',
    path: LLM,
    operationId: 'setWorkspaceLlmSettings',
    summary:
      "Replace the workspace's LLM settings (workspace admins; FORBIDDEN unless the organization permits overrides)",
    tag,
    scopes: ['workspaces:write', 'workspaces:read'],
    body: { input: WorkspaceLlmSettingsInput },
    result: { kind: 'object', type: WorkspaceLlmSettingsWithStatus },
    audit: {
      operation: 'setWorkspaceLlmSettings',
      targetType: 'WorkspaceLlmSettings',
      targetId: (_r, req) => req.params.workspace_id,
    },
    handle: async (ctx, req) => withStatus(ctx, await llmService.set(ctx, req.params.workspace_id, req.body)),
  }),
  route({
    method: 'delete',
    path: LLM,
    operationId: 'clearWorkspaceLlmSettings',
    summary: "Remove the workspace's LLM settings (workspace admins; idempotent)",
    tag,
    scopes: ['workspaces:write'],
    result: { kind: 'none' },
    audit: {
      operation: 'clearWorkspaceLlmSettings',
      targetType: 'Workspace',
      targetId: (_r, req) => req.params.workspace_id,
    },
    handle: async (ctx, req) => {
      await llmService.clear(ctx, req.params.workspace_id);
    },
  }),
];
