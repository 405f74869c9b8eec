import DataLoader from 'dataloader';
import type { TenantScope } from '../../db/tenant-scope';
import { rows } from '../../db/sql';
import { WorkspaceLlmSettings } from './llm.entity';

/** Per-request loader of the LLM settings module: settings by workspace id (null when none are set). */
export class LlmLoaders {
  constructor(private readonly scope: TenantScope) {}

  readonly settings = new DataLoader<string, WorkspaceLlmSettings | null>(async (workspaceIds) => {
    const settings = await rows(
      this.scope,
      WorkspaceLlmSettings,
      `SELECT * FROM workspace_llm_settings WHERE org_id = $1 AND workspace_id = ANY($2::uuid[])`,
      [this.scope.orgId, workspaceIds],
    );
    return workspaceIds.map((id) => settings.find((s) => s.workspaceId === id) ?? null);
  });
}
