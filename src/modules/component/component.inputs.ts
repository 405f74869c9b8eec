import { Field, ID, InputType } from 'type-graphql';
import { JSONObject } from '../../graphql/scalars';
import { IsEnum, IsOptional, IsUUID, Matches, MaxLength, ValidateIf } from 'class-validator';
import { IsJsonObject, NOT_BLANK } from '../../graphql/validation';
import { ComponentType } from './component.entity';

const MAX_CONFIGURATION_BYTES = 64 * 1024;

@InputType({ description: 'A new component of a workspace.' })
export class CreateComponentInput {
  @Field(() => ID, { description: 'Global id of the Workspace to create the component in.' })
  @IsUUID('all', { message: 'workspaceId must be an id returned by this API' })
  workspaceId: string;

  @Field(() => ComponentType, { description: 'Kind of component; cannot be changed later.' })
  @IsEnum(ComponentType)
  type: ComponentType;

  @Field(() => String, { description: 'Display name, 1 to 200 characters.' })
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name: string;

  @Field(() => JSONObject, { description: 'Free-form JSON object (at most 64 KiB); {} when omitted.', nullable: true })
  @IsOptional()
  @IsJsonObject(MAX_CONFIGURATION_BYTES)
  configuration?: Record<string, unknown> | null;
}

@InputType({ description: 'Omitted fields keep their value; null is refused.' })
export class UpdateComponentInput {
  @Field(() => String, { description: 'New display name; null is refused.', nullable: true })
  @ValidateIf((o: UpdateComponentInput) => o.name !== undefined)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name?: string;

  @Field(() => JSONObject, { description: 'Replaces the configuration (JSON object, at most 64 KiB).', nullable: true })
  @ValidateIf((o: UpdateComponentInput) => o.configuration !== undefined)
  @IsJsonObject(MAX_CONFIGURATION_BYTES)
  configuration?: Record<string, unknown>;
}
