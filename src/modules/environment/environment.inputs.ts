import { Field, ID, InputType } from 'type-graphql';
import { JSONObject } from '../../graphql/scalars';
import { IsEnum, IsOptional, IsUUID, Matches, MaxLength, ValidateIf } from 'class-validator';
import { IsJsonObject, NOT_BLANK, SLUG_MESSAGE, SLUG_PATTERN } from '../../graphql/validation';
import { DeploymentHost, EnvironmentTier } from './environment.entity';

const MAX_BACKEND_BYTES = 16 * 1024;

@InputType()
export class CreateEnvironmentInput {
  @Field(() => ID)
  @IsUUID('all', { message: 'workspaceId must be an id returned by this API' })
  workspaceId: string;

  @Field(() => String)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name: string;

  @Field(() => String, { description: 'Unique within the workspace; lowercase letters, digits, hyphens.' })
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE })
  slug: string;

  @Field(() => EnvironmentTier)
  @IsEnum(EnvironmentTier)
  tier: EnvironmentTier;

  @Field(() => DeploymentHost, { nullable: true, defaultValue: DeploymentHost.LOCALHOST })
  @IsEnum(DeploymentHost)
  deploymentHost: DeploymentHost;

  @Field(() => JSONObject, { nullable: true })
  @IsOptional()
  @IsJsonObject(MAX_BACKEND_BYTES)
  executionBackend?: Record<string, unknown> | null;
}

@InputType({ description: 'Omitted fields keep their value; null is refused.' })
export class UpdateEnvironmentInput {
  @Field(() => String, { nullable: true })
  @ValidateIf((o: UpdateEnvironmentInput) => o.name !== undefined)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name?: string;

  @Field(() => String, { nullable: true })
  @ValidateIf((o: UpdateEnvironmentInput) => o.slug !== undefined)
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE })
  slug?: string;

  @Field(() => EnvironmentTier, { nullable: true })
  @ValidateIf((o: UpdateEnvironmentInput) => o.tier !== undefined)
  @IsEnum(EnvironmentTier)
  tier?: EnvironmentTier;

  @Field(() => DeploymentHost, { nullable: true })
  @ValidateIf((o: UpdateEnvironmentInput) => o.deploymentHost !== undefined)
  @IsEnum(DeploymentHost)
  deploymentHost?: DeploymentHost;

  @Field(() => JSONObject, { nullable: true })
  @ValidateIf((o: UpdateEnvironmentInput) => o.executionBackend !== undefined)
  @IsJsonObject(MAX_BACKEND_BYTES)
  executionBackend?: Record<string, unknown>;
}
