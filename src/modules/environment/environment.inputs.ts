import { Field, ID, InputType } from 'type-graphql';
import { JSONObject } from '../../graphql/scalars';
import { IsEnum, IsOptional, IsUUID, Matches, MaxLength, ValidateIf } from 'class-validator';
import { IsJsonObject, NOT_BLANK, SLUG_MESSAGE, SLUG_PATTERN } from '../../graphql/validation';
import { DeploymentHost, EnvironmentTier } from './environment.entity';

const MAX_BACKEND_BYTES = 16 * 1024;

@InputType({ description: 'A new environment of a workspace.' })
export class CreateEnvironmentInput {
  @Field(() => ID, { description: 'Global id of the Workspace to create the environment in.' })
  @IsUUID('all', { message: 'workspaceId must be an id returned by this API' })
  workspaceId: string;

  @Field(() => String, { description: 'Display name, 1 to 200 characters.' })
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name: string;

  @Field(() => String, { description: 'Unique within the workspace; lowercase letters, digits, hyphens.' })
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE })
  slug: string;

  @Field(() => EnvironmentTier, { description: 'Pipeline stage of the environment.' })
  @IsEnum(EnvironmentTier)
  tier: EnvironmentTier;

  @Field(() => DeploymentHost, {
    description: 'Where it runs; LOCALHOST when omitted.',
    nullable: true,
    defaultValue: DeploymentHost.LOCALHOST,
  })
  @IsEnum(DeploymentHost)
  deploymentHost: DeploymentHost;

  @Field(() => JSONObject, {
    description: 'Runtime settings as a JSON object (at most 16 KiB); {} when omitted. Never put secrets here.',
    nullable: true,
  })
  @IsOptional()
  @IsJsonObject(MAX_BACKEND_BYTES)
  executionBackend?: Record<string, unknown> | null;
}

@InputType({ description: 'Omitted fields keep their value; null is refused.' })
export class UpdateEnvironmentInput {
  @Field(() => String, { description: 'New display name; null is refused.', nullable: true })
  @ValidateIf((o: UpdateEnvironmentInput) => o.name !== undefined)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name?: string;

  @Field(() => String, { description: 'New slug, unique in the workspace; null is refused.', nullable: true })
  @ValidateIf((o: UpdateEnvironmentInput) => o.slug !== undefined)
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE })
  slug?: string;

  @Field(() => EnvironmentTier, { description: 'New pipeline stage; null is refused.', nullable: true })
  @ValidateIf((o: UpdateEnvironmentInput) => o.tier !== undefined)
  @IsEnum(EnvironmentTier)
  tier?: EnvironmentTier;

  @Field(() => DeploymentHost, {
    description: 'New host; refused while credentials for another provider are stored.',
    nullable: true,
  })
  @ValidateIf((o: UpdateEnvironmentInput) => o.deploymentHost !== undefined)
  @IsEnum(DeploymentHost)
  deploymentHost?: DeploymentHost;

  @Field(() => JSONObject, {
    description: 'Replaces the runtime settings (JSON object, at most 16 KiB).',
    nullable: true,
  })
  @ValidateIf((o: UpdateEnvironmentInput) => o.executionBackend !== undefined)
  @IsJsonObject(MAX_BACKEND_BYTES)
  executionBackend?: Record<string, unknown>;
}
