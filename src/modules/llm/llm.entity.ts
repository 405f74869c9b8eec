import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { RequiresScopes } from '../../auth/decorators';

export enum LlmProvider {
  OPENAI = 'openai',
  ANTHROPIC = 'anthropic',
  GOOGLE = 'google',
  AZURE_OPENAI = 'azure_openai',
  BEDROCK = 'bedrock',
}
registerEnumType(LlmProvider, {
  name: 'LlmProvider',
  description: 'A large-language-model provider the LLM proxy can route to.',
  valuesConfig: {
    OPENAI: { description: 'OpenAI (GPT models).' },
    ANTHROPIC: { description: 'Anthropic.' },
    GOOGLE: { description: 'Google (Gemini).' },
    AZURE_OPENAI: { description: 'OpenAI models hosted on Microsoft Azure.' },
    BEDROCK: { description: 'Amazon Bedrock.' },
  },
});

/** One routing rule, stored in the settings row's `routes` JSON array. */
@ObjectType({ description: 'Requests for this task or feature go to this model.' })
@RequiresScopes('workspaces:read')
export class LlmRoute {
  @Field(() => String, {
    description: 'The task or feature name the proxy matches (exact; unique within the settings, ignoring case).',
  })
  match: string;

  @Field(() => LlmProvider, { description: 'Provider for requests matching this route.' })
  provider: LlmProvider;

  @Field(() => String, { description: 'Model name as the provider spells it (e.g. gpt-4o).' })
  model: string;

  @Field(() => Int, {
    description: 'Upper bound on tokens per request for this route, or null for the model default.',
    nullable: true,
  })
  maxTokens: number | null;

  @Field(() => Float, { description: 'Sampling temperature 0 to 2, or null for the model default.', nullable: true })
  temperature: number | null;
}

/** A workspace's LLM proxy model routing; used only while the organization permits workspace overrides. */
@Entity({ name: 'workspace_llm_settings' })
@ObjectType({ description: "A workspace's LLM proxy model routing." })
@RequiresScopes('workspaces:read')
export class WorkspaceLlmSettings {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @PrimaryColumn('uuid', { name: 'workspace_id' })
  @Field(() => ID, { description: 'Global id of the workspace these settings belong to.' })
  workspaceId: string;

  @Column('text', { name: 'default_provider' })
  @Field(() => LlmProvider, { description: 'Provider for requests no route matches.' })
  defaultProvider: LlmProvider;

  @Column('text', { name: 'default_model' })
  @Field(() => String, { description: 'The model for requests no route matches.' })
  defaultModel: string;

  @Column('text', { name: 'fallback_provider', nullable: true })
  @Field(() => LlmProvider, {
    description: 'Provider used when the default one fails, or null for no fallback.',
    nullable: true,
  })
  fallbackProvider: LlmProvider | null;

  @Column('text', { name: 'fallback_model', nullable: true })
  @Field(() => String, { nullable: true, description: 'Used when the chosen model fails or is unavailable.' })
  fallbackModel: string | null;

  @Column('jsonb')
  @Field(() => [LlmRoute], { description: 'Per-task routing rules, in the order they are matched (first match wins).' })
  routes: LlmRoute[];

  @Column('text', { name: 'updated_by' })
  @Field(() => String, { description: 'The token subject that last set these settings.' })
  updatedBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When the workspace first got its own settings.' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When the settings were last replaced.' })
  updatedAt: Date;
}
