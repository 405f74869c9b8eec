import { Field, ID, InputType, Int } from 'type-graphql';
import { IsInt, IsOptional, IsUUID, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { NOT_BLANK } from '../../graphql/validation';

/** Versions as build systems write them: semver, dates, git hashes (1-100 characters, no spaces). */
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;
const VERSION_MESSAGE = 'version must be 1-100 letters, digits, ".", "_", "+" or "-", starting with a letter or digit';
const ID_MESSAGE = (field: string) => `${field} must be an id returned by this API`;

/** At most this many rings per workspace: ring lists stay bounded. */
export const MAX_RINGS_PER_WORKSPACE = 20;

@InputType({ description: 'A new deployment ring of a workspace, bound to one of its environments.' })
export class CreateDeploymentRingInput {
  @Field(() => ID, { description: 'Global id of the Workspace the ring belongs to.' })
  @IsUUID('all', { message: ID_MESSAGE('workspaceId') })
  workspaceId: string;

  @Field(() => String, { description: 'Unique within the workspace.' })
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(100)
  name: string;

  @Field(() => ID, { description: 'An environment of the same workspace.' })
  @IsUUID('all', { message: ID_MESSAGE('environmentId') })
  environmentId: string;

  @Field(() => Int, {
    nullable: true,
    description:
      'Where to insert the ring (0 = first); rings at this position and after move one down. Omitted: appended at the end.',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_RINGS_PER_WORKSPACE - 1)
  position?: number | null;
}

@InputType({ description: 'Omitted fields keep their value; null is refused.' })
export class UpdateDeploymentRingInput {
  @Field(() => String, { description: 'New name, unique in the workspace; null is refused.', nullable: true })
  @ValidateIf((o: UpdateDeploymentRingInput) => o.name !== undefined)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(100)
  name?: string;

  @Field(() => ID, { nullable: true, description: 'An environment of the same workspace.' })
  @ValidateIf((o: UpdateDeploymentRingInput) => o.environmentId !== undefined)
  @IsUUID('all', { message: ID_MESSAGE('environmentId') })
  environmentId?: string;
}

@InputType({
  description: 'Puts a version of a component into the first ring (position 0): how a version enters the pipeline.',
})
export class DeployComponentInput {
  @Field(() => ID, { description: 'Global id of the Component to deploy.' })
  @IsUUID('all', { message: ID_MESSAGE('componentId') })
  componentId: string;

  @Field(() => ID, { description: "The first ring (position 0) of the component's workspace." })
  @IsUUID('all', { message: ID_MESSAGE('ringId') })
  ringId: string;

  @Field(() => String, { description: 'The version to deploy (1 to 100 characters: letters, digits, . _ + -).' })
  @Matches(VERSION_PATTERN, { message: VERSION_MESSAGE })
  version: string;
}

@InputType({ description: 'Moves a version that is in one ring into the ring immediately after it.' })
export class PromoteComponentInput {
  @Field(() => ID, { description: 'Global id of the Component to promote.' })
  @IsUUID('all', { message: ID_MESSAGE('componentId') })
  componentId: string;

  @Field(() => ID, { description: 'Global id of the ring the version is in now.' })
  @IsUUID('all', { message: ID_MESSAGE('fromRingId') })
  fromRingId: string;

  @Field(() => ID, { description: 'Must be the ring immediately after fromRing (position + 1).' })
  @IsUUID('all', { message: ID_MESSAGE('toRingId') })
  toRingId: string;

  @Field(() => String, { description: 'Must be the version currently in fromRing.' })
  @Matches(VERSION_PATTERN, { message: VERSION_MESSAGE })
  version: string;
}
