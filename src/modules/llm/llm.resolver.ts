import { Arg, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { Workspace } from '../workspace/workspace.entity';
import { WorkspaceLlmSettings } from './llm.entity';
import { WorkspaceLlmSettingsInput } from './llm.inputs';
import { llmService } from './llm.service';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => WorkspaceLlmSettings)
export class LlmSettingsResolver {
  @FieldResolver(() => Boolean, {
    description:
      'False while the organization does not permit workspace LLM overrides: the proxy then ignores these settings.',
  })
  active(@Root() _settings: WorkspaceLlmSettings, @RequestCtx() ctx: RequestContext): Promise<boolean> {
    return llmService.overridesAllowed(ctx);
  }

  @Mutation(() => WorkspaceLlmSettings, {
    nullable: true,
    description:
      "Workspace admins; replaces the workspace's LLM settings. FORBIDDEN unless the organization permits workspace overrides.",
  })
  @RequiresScopes('workspaces:write')
  setWorkspaceLlmSettings(
    @Arg('workspaceId', () => ID, { description: 'Global id of the Workspace.' }) workspaceId: string,
    @Arg('input', () => WorkspaceLlmSettingsInput, {
      description: 'The complete new settings (replaces the current ones).',
    })
    input: WorkspaceLlmSettingsInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<WorkspaceLlmSettings> {
    return llmService.set(ctx, workspaceId, input);
  }

  @Mutation(() => Workspace, {
    nullable: true,
    description: "Workspace admins; removes the workspace's LLM settings (allowed whatever the organization permits).",
  })
  @RequiresScopes('workspaces:write')
  clearWorkspaceLlmSettings(
    @Arg('workspaceId', () => ID, { description: 'Global id of the Workspace.' }) workspaceId: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Workspace> {
    return llmService.clear(ctx, workspaceId);
  }
}

@Resolver(() => Workspace)
export class WorkspaceLlmSettingsResolver {
  @FieldResolver(() => WorkspaceLlmSettings, {
    nullable: true,
    description: "The workspace's LLM proxy model routing; null when none is set.",
  })
  @RequiresScopes('workspaces:read')
  llmSettings(@Root() workspace: Workspace, @RequestCtx() ctx: RequestContext): Promise<WorkspaceLlmSettings | null> {
    return llmService.get(ctx, workspace.id);
  }
}
