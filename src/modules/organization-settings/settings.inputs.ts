import { Field, Float, InputType, Int } from 'type-graphql';
import { IsBoolean, IsEnum, IsOptional, Matches, Max, MaxLength, Min, ValidateIf, registerDecorator } from 'class-validator';
import { NOT_BLANK } from '../../graphql/validation';
import { BannerVariant, TraceMode } from './settings.types';

const HEX = /^#[0-9a-fA-F]{6}$/;
const HEX_MESSAGE = '$property must be a hex colour such as #1a2b3c';
/** Font stacks as CSS writes them, and nothing that could break out of a CSS declaration. */
const FONT_FAMILY = /^[A-Za-z0-9 ,'"-]{1,100}$/;

/** At most two decimal places (the column is numeric(3,2): we refuse rather than round silently). */
function HasAtMostTwoDecimals() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'hasAtMostTwoDecimals',
      target: target.constructor,
      propertyName,
      options: { message: '$property must have at most two decimal places' },
      validator: { validate: (value: unknown) => typeof value === 'number' && Math.abs(value * 100 - Math.round(value * 100)) < 1e-9 },
    });
}

@InputType({ description: 'Omitted fields keep their value; null clears a colour or the font.' })
export class UpdateBrandingInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(HEX, { message: HEX_MESSAGE })
  primaryColor?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(HEX, { message: HEX_MESSAGE })
  secondaryColor?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(HEX, { message: HEX_MESSAGE })
  accentColor?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(FONT_FAMILY, { message: 'fontFamily must be 1-100 letters, digits, spaces, commas, quotes or hyphens' })
  fontFamily?: string | null;
}

@InputType({ description: 'Omitted fields keep their value; null is refused.' })
export class UpdateSecuritySettingsInput {
  @Field(() => Boolean, { nullable: true })
  @ValidateIf((o: UpdateSecuritySettingsInput) => o.requireMfa !== undefined)
  @IsBoolean()
  requireMfa?: boolean;

  @Field(() => Boolean, { nullable: true })
  @ValidateIf((o: UpdateSecuritySettingsInput) => o.allowUserKeyOverride !== undefined)
  @IsBoolean()
  allowUserKeyOverride?: boolean;

  @Field(() => Boolean, { nullable: true })
  @ValidateIf((o: UpdateSecuritySettingsInput) => o.allowWorkspaceLlmOverrides !== undefined)
  @IsBoolean()
  allowWorkspaceLlmOverrides?: boolean;
}

@InputType()
export class SetBannerInput {
  @Field(() => String)
  @Matches(NOT_BLANK, { message: 'message must not be blank' })
  @MaxLength(500)
  message: string;

  @Field(() => BannerVariant, { nullable: true, defaultValue: BannerVariant.INFO })
  @IsEnum(BannerVariant)
  variant: BannerVariant;

  @Field(() => Boolean, { nullable: true, defaultValue: true })
  @IsBoolean()
  dismissible: boolean;
}

@InputType({ description: 'Omitted fields keep their value; null is refused.' })
export class UpdateTraceConfigInput {
  @Field(() => TraceMode, { nullable: true })
  @ValidateIf((o: UpdateTraceConfigInput) => o.mode !== undefined)
  @IsEnum(TraceMode)
  mode?: TraceMode;

  @Field(() => Float, { nullable: true })
  @ValidateIf((o: UpdateTraceConfigInput) => o.sampleRate !== undefined)
  @Min(0)
  @Max(1)
  @HasAtMostTwoDecimals()
  sampleRate?: number;

  @Field(() => Int, { nullable: true })
  @ValidateIf((o: UpdateTraceConfigInput) => o.retentionDays !== undefined)
  @Min(1)
  @Max(365)
  retentionDays?: number;
}
