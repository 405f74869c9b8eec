import { entities } from '../../db/sql';
import type { RequestContext } from '../../context/request-context';
import { requireWorkspaceRole } from '../../auth/access';
import { WorkspaceRole } from '../../auth/roles';
import { ForbiddenError } from '../../errors';
import { checkId } from '../../errors';
import type { Workspace } from '../workspace/workspace.entity';
import { workspaceService } from '../workspace/workspace.service';
import { WorkspaceLlmSettings, type LlmRoute } from './llm.entity';
import type { WorkspaceLlmSettingsInput } from './llm.inputs';

export const LLM_OVERRIDES_DISABLED_MESSAGE =
  'This organization does not permit workspace LLM overrides (an org admin can enable allowWorkspaceLlmOverrides)';

function normalizedRoutes(input: WorkspaceLlmSettingsInput): LlmRoute[] {
  return input.routes.map((route) => ({
    match: route.match,
    provider: route.provider,
    model: route.model.trim(),
    maxTokens: route.maxTokens ?? null,
    temperature: route.temperature ?? null,
  }));
}

export const llmService = {
  get(ctx: RequestContext, workspaceId: string): Promise<WorkspaceLlmSettings | null> {
    return ctx.loaders.llm.settings.load(workspaceId);
  },

  /** Whether the organization currently lets workspaces override LLM settings (the proxy ignores them otherwise). */
  async overridesAllowed(ctx: RequestContext): Promise<boolean> {
    return (await ctx.loaders.organization.current())?.allowWorkspaceLlmOverrides === true;
  },

  /** Workspace admins, and only while the organization permits workspace overrides. Replaces the settings. */
  async set(ctx: RequestContext, workspaceId: string, input: WorkspaceLlmSettingsInput): Promise<WorkspaceLlmSettings> {
    workspaceId = checkId(workspaceId, 'workspaceId');
    await requireWorkspaceRole(ctx, workspaceId, WorkspaceRole.ADMIN);
    if (!(await llmService.overridesAllowed(ctx))) throw new ForbiddenError(LLM_OVERRIDES_DISABLED_MESSAGE);
    const routes = normalizedRoutes(input);
    const fallback = input.fallbackModel != null && input.fallbackProvider != null;
    const settings = await ctx.scope.mutation(async (manager) => {
      // Read the permission again under a share lock: an admin switching overrides off at this moment
      // either commits first (and we refuse) or waits for this change.
      const [org] = await manager.query(
        `SELECT allow_workspace_llm_overrides FROM organizations WHERE id = $1 FOR SHARE`,
        [ctx.orgId],
      );
      if (!org?.allow_workspace_llm_overrides) throw new ForbiddenError(LLM_OVERRIDES_DISABLED_MESSAGE);
      const rows = await manager.query(
        `INSERT INTO workspace_llm_settings (org_id, workspace_id, default_provider, default_model, fallback_provider, fallback_model, routes, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
         ON CONFLICT (org_id, workspace_id) DO UPDATE SET
           default_provider = EXCLUDED.default_provider, default_model = EXCLUDED.default_model,
           fallback_provider = EXCLUDED.fallback_provider, fallback_model = EXCLUDED.fallback_model,
           routes = EXCLUDED.routes, updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING *`,
        [
          ctx.orgId,
          workspaceId,
          input.defaultProvider,
          input.defaultModel.trim(),
          fallback ? input.fallbackProvider : null,
          fallback ? input.fallbackModel!.trim() : null,
          JSON.stringify(routes),
          ctx.actor.subject,
        ],
      );
      return (await entities(manager, WorkspaceLlmSettings, rows))[0];
    });
    ctx.loaders.llm.settings.clear(workspaceId).prime(workspaceId, settings);
    return settings;
  },

  /**
   * Workspace admins. Removing an override never widens anything, so it is allowed even when the
   * organization no longer permits overrides (that is how leftovers are cleaned up). Idempotent.
   */
  async clear(ctx: RequestContext, workspaceId: string): Promise<Workspace> {
    workspaceId = checkId(workspaceId, 'workspaceId');
    await requireWorkspaceRole(ctx, workspaceId, WorkspaceRole.ADMIN);
    await ctx.scope.mutation((manager) =>
      manager.query(`DELETE FROM workspace_llm_settings WHERE org_id = $1 AND workspace_id = $2`, [
        ctx.orgId,
        workspaceId,
      ]),
    );
    ctx.loaders.llm.settings.clear(workspaceId).prime(workspaceId, null);
    return workspaceService.get(ctx, workspaceId);
  },
};
