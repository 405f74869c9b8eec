import { Field, InputType } from 'type-graphql';
import { ArrayMaxSize, ArrayMinSize, IsDate, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { NOT_BLANK } from '../../graphql/validation';

@InputType({ description: 'A new API key: what it is called and what it may do.' })
export class CreateApiKeyInput {
  @Field(() => String, { description: 'Display name, 1 to 100 characters.' })
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(100)
  name: string;

  @Field(() => String, { description: 'Free text up to 1000 characters.', nullable: true })
  @IsOptional()
  @MaxLength(1000)
  description?: string | null;

  @Field(() => [String], { description: 'From the scope catalogue; only scopes the creator holds.' })
  @ArrayMinSize(1, { message: 'scopes must name at least one scope' })
  @ArrayMaxSize(50)
  @IsString({ each: true })
  scopes: string[];

  @Field(() => Date, { nullable: true, description: 'Optional expiry; in the future, at most two years ahead.' })
  @IsOptional()
  @IsDate()
  expiresAt?: Date | null;
}
