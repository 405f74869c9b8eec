import { Field, InputType } from 'type-graphql';
import { IsOptional, Matches, MaxLength, ValidateIf } from 'class-validator';
import { NOT_BLANK } from '../../graphql/validation';

@InputType({ description: "A new workspace of the caller's organization." })
export class CreateWorkspaceInput {
  @Field(() => String, { description: 'Display name, 1 to 200 characters (trimmed).' })
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name: string;

  @Field(() => String, { description: 'Free text up to 2000 characters.', nullable: true })
  @IsOptional()
  @MaxLength(2000)
  description?: string | null;
}

@InputType({ description: 'Changes to a workspace; an omitted field is kept.' })
export class UpdateWorkspaceInput {
  @Field(() => String, { nullable: true, description: 'Omit to keep; null is refused.' })
  @ValidateIf((o: UpdateWorkspaceInput) => o.name !== undefined)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name?: string;

  @Field(() => String, { nullable: true, description: 'Omit to keep; null clears it.' })
  @IsOptional()
  @MaxLength(2000)
  description?: string | null;
}
