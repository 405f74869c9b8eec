import { Field, InputType } from 'type-graphql';
import { IsOptional, Matches, MaxLength, ValidateIf } from 'class-validator';
import { NOT_BLANK } from '../../graphql/validation';

@InputType()
export class CreateWorkspaceInput {
  @Field(() => String)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(2000)
  description?: string | null;
}

@InputType()
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
