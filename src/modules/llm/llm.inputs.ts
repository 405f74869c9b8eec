import { Field, Float, InputType, Int } from 'type-graphql';
import {
  ArrayMaxSize,
  IsArray,
  IsEnum,
  IsInt,
  IsNumber,
  IsOptional,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { NOT_BLANK, type CrossFieldValidation } from '../../graphql/validation';
import type { FieldError } from '../../graphql/errors';
import { LlmProvider } from './llm.entity';

export const MAX_ROUTES = 50;
export const MAX_TOKENS = 200_000;
/** Task/feature names: letters, digits and . _ : / - (1-100 characters). */
export const MATCH_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;

@InputType({ description: 'One routing rule: requests whose task matches `match` go to this provider and model.' })
export class LlmRouteInput {
  @Field(() => String, {
    description: 'Task or feature name: 1-100 letters, digits, ".", "_", ":", "/" or "-"; unique ignoring case.',
  })
  @Matches(MATCH_PATTERN, {
    message: 'match must be 1-100 letters, digits, ".", "_", ":", "/" or "-", starting with a letter or digit',
  })
  match: string;

  @Field(() => LlmProvider, { description: 'Provider for requests matching this route.' })
  @IsEnum(LlmProvider)
  provider: LlmProvider;

  @Field(() => String, { description: 'Model name as the provider spells it, 1 to 100 characters.' })
  @Matches(NOT_BLANK, { message: 'model must not be blank' })
  @MaxLength(100)
  model: string;

  @Field(() => Int, {
    nullable: true,
    description: `Upper bound on tokens per request for this route, 1 to ${MAX_TOKENS}; omitted: the model default.`,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TOKENS)
  maxTokens?: number | null;

  @Field(() => Float, { nullable: true, description: 'Sampling temperature 0 to 2; omitted: the model default.' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number | null;
}

@InputType({ description: "Replaces the workspace's LLM settings as a whole." })
export class WorkspaceLlmSettingsInput implements CrossFieldValidation {
  @Field(() => LlmProvider, { description: 'Provider for requests no route matches.' })
  @IsEnum(LlmProvider)
  defaultProvider: LlmProvider;

  @Field(() => String, { description: 'Model for requests no route matches, as the provider spells it.' })
  @Matches(NOT_BLANK, { message: 'defaultModel must not be blank' })
  @MaxLength(100)
  defaultModel: string;

  @Field(() => [LlmRouteInput], {
    defaultValue: [],
    description: `Each route matches one task or feature name exactly. At most ${MAX_ROUTES}.`,
  })
  @IsArray()
  @ArrayMaxSize(MAX_ROUTES)
  @ValidateNested({ each: true })
  routes: LlmRouteInput[];

  @Field(() => LlmProvider, { nullable: true, description: 'Given together with fallbackModel, or not at all.' })
  @ValidateIf((o: WorkspaceLlmSettingsInput) => o.fallbackProvider != null || o.fallbackModel != null)
  @IsEnum(LlmProvider, { message: 'fallbackProvider is required with fallbackModel (and must be a known provider)' })
  fallbackProvider?: LlmProvider | null;

  @Field(() => String, {
    description: 'Model of the fallback provider; required with fallbackProvider.',
    nullable: true,
  })
  @ValidateIf((o: WorkspaceLlmSettingsInput) => o.fallbackProvider != null || o.fallbackModel != null)
  @Matches(NOT_BLANK, { message: 'fallbackModel is required with fallbackProvider and must not be blank' })
  @MaxLength(100)
  fallbackModel?: string | null;

  /** Route matches must be unique, ignoring case (reported with the other field errors). */
  crossFieldErrors(): FieldError[] {
    const seen = new Map<string, number>();
    const errors: FieldError[] = [];
    (this.routes ?? []).forEach((route, index) => {
      if (typeof route?.match !== 'string') return;
      const key = route.match.toLowerCase();
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else
        errors.push({
          field: `routes.${index}.match`,
          message: `match "${route.match}" is already used by routes.${first}`,
        });
    });
    return errors;
  }
}
