import { Field, ID, InputType } from 'type-graphql';
import { JSONObject } from '../../graphql/scalars';
import { IsEnum, IsOptional, IsUUID, Matches, MaxLength, ValidateIf } from 'class-validator';
import { IsJsonObject, NOT_BLANK } from '../../graphql/validation';
import { ComponentType } from './component.entity';

const MAX_CONFIGURATION_BYTES = 64 * 1024;

@InputType()
export class CreateComponentInput {
  @Field(() => ID)
  @IsUUID('all', { message: 'workspaceId must be an id returned by this API' })
  workspaceId: string;

  @Field(() => ComponentType)
  @IsEnum(ComponentType)
  type: ComponentType;

  @Field(() => String)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name: string;

  @Field(() => JSONObject, { nullable: true })
  @IsOptional()
  @IsJsonObject(MAX_CONFIGURATION_BYTES)
  configuration?: Record<string, unknown> | null;
}

@InputType({ description: 'Omitted fields keep their value; null is refused.' })
export class UpdateComponentInput {
  @Field(() => String, { nullable: true })
  @ValidateIf((o: UpdateComponentInput) => o.name !== undefined)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name?: string;

  @Field(() => JSONObject, { nullable: true })
  @ValidateIf((o: UpdateComponentInput) => o.configuration !== undefined)
  @IsJsonObject(MAX_CONFIGURATION_BYTES)
  configuration?: Record<string, unknown>;
}
