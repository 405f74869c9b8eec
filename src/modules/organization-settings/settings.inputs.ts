import { Field, Float, InputType, Int } from 'type-graphql';
import {
  IsBoolean,
  IsEnum,
  IsOptional,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  registerDecorator,
} from 'class-validator';
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
      validator: {
        validate: (value: unknown) =>
          typeof value === 'number' && Math.abs(value * 100 - Math.round(value * 100)) < 1e-9,
      },
    });
}

@InputType({ description: 'Omitted fields keep their value; null clears a colour or the font.' })
export class UpdateBrandingInput {
  @Field(() => String, { description: '#RRGGBB; null resets to the platform default.', nullable: true })
  @IsOptional()
  @Matches(HEX, { message: HEX_MESSAGE })
  primaryColor?: string | null;

  @Field(() => String, { description: '#RRGGBB; null resets to the platform default.', nullable: true })
  @IsOptional()
  @Matches(HEX, { message: HEX_MESSAGE })
  secondaryColor?: string | null;

  @Field(() => String, { description: '#RRGGBB; null resets to the platform default.', nullable: true })
  @IsOptional()
  @Matches(HEX, { message: HEX_MESSAGE })
  accentColor?: string | null;

  @Field(() => String, { description: 'CSS font family name; null resets to the platform default.', nullable: true })
  @IsOptional()
  @Matches(FONT_FAMILY, { message: 'fontFamily must be 1-100 letters, digits, spaces, commas, quotes or hyphens' })
  fontFamily?: string | null;
}

@InputType({ description: 'Omitted fields keep their value; null is refused.' })
export class UpdateSecuritySettingsInput {
  @Field(() => Boolean, { description: 'Whether members must use multi-factor authentication.', nullable: true })
  @ValidateIf((o: UpdateSecuritySettingsInput) => o.requireMfa !== undefined)
  @IsBoolean()
  requireMfa?: boolean;

  @Field(() => Boolean, { description: 'Whether members may bring their own provider keys.', nullable: true })
  @ValidateIf((o: UpdateSecuritySettingsInput) => o.allowUserKeyOverride !== undefined)
  @IsBoolean()
  allowUserKeyOverride?: boolean;

  @Field(() => Boolean, { description: 'Whether workspace admins may set their own LLM settings.', nullable: true })
  @ValidateIf((o: UpdateSecuritySettingsInput) => o.allowWorkspaceLlmOverrides !== undefined)
  @IsBoolean()
  allowWorkspaceLlmOverrides?: boolean;
}

@InputType({ description: 'The banner shown to every member of the organization.' })
export class SetBannerInput {
  @Field(() => String, { description: 'Banner text, 1 to 500 characters (trimmed).' })
  @Matches(NOT_BLANK, { message: 'message must not be blank' })
  @MaxLength(500)
  message: string;

  @Field(() => BannerVariant, {
    description: 'How prominently it is shown; INFO when omitted.',
    nullable: true,
    defaultValue: BannerVariant.INFO,
  })
  @IsEnum(BannerVariant)
  variant: BannerVariant;

  @Field(() => Boolean, {
    description: 'Whether members may hide it; true when omitted.',
    nullable: true,
    defaultValue: true,
  })
  @IsBoolean()
  dismissible: boolean;
}

@InputType({ description: 'Omitted fields keep their value; null is refused.' })
export class UpdateTraceConfigInput {
  @Field(() => TraceMode, { description: 'Which requests are traced.', nullable: true })
  @ValidateIf((o: UpdateTraceConfigInput) => o.mode !== undefined)
  @IsEnum(TraceMode)
  mode?: TraceMode;

  @Field(() => Float, { description: 'Fraction of requests traced in SAMPLED mode, 0 to 1.', nullable: true })
  @ValidateIf((o: UpdateTraceConfigInput) => o.sampleRate !== undefined)
  @Min(0)
  @Max(1)
  @HasAtMostTwoDecimals()
  sampleRate?: number;

  @Field(() => Int, { description: 'Days traces are kept, 1 to 365.', nullable: true })
  @ValidateIf((o: UpdateTraceConfigInput) => o.retentionDays !== undefined)
  @Min(1)
  @Max(365)
  retentionDays?: number;
}
