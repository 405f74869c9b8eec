import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { RequiresScopes } from '../../auth/decorators';

export enum BannerVariant {
  INFO = 'info',
  WARNING = 'warning',
  ERROR = 'error',
}
export enum TraceMode {
  ALL = 'all',
  ERRORS_ONLY = 'errors_only',
  SAMPLED = 'sampled',
  NONE = 'none',
}
registerEnumType(BannerVariant, {
  name: 'BannerVariant',
  description: 'How prominently the organization banner is shown to members.',
  valuesConfig: {
    INFO: { description: 'Neutral information (for example a planned maintenance window).' },
    WARNING: { description: 'Something members should act on soon.' },
    ERROR: { description: 'An ongoing problem (for example an outage).' },
  },
});
registerEnumType(TraceMode, {
  name: 'TraceMode',
  description: "Which requests of the organization's components are traced.",
  valuesConfig: {
    ALL: { description: 'Every request is traced.' },
    ERRORS_ONLY: { description: 'Only requests that fail are traced.' },
    SAMPLED: { description: 'A fraction of requests is traced (see TraceConfig.sampleRate).' },
    NONE: { description: 'Tracing is off.' },
  },
});

@ObjectType({ description: 'How the platform looks for this organization.' })
@RequiresScopes('org:read')
export class Branding {
  @Field(() => String, { nullable: true, description: 'Primary colour as #RRGGBB, or null for the platform default.' })
  primaryColor: string | null;

  @Field(() => String, {
    description: 'Secondary colour as #RRGGBB, or null for the platform default.',
    nullable: true,
  })
  secondaryColor: string | null;

  @Field(() => String, { description: 'Accent colour as #RRGGBB, or null for the platform default.', nullable: true })
  accentColor: string | null;

  @Field(() => String, { description: 'CSS font family name, or null for the platform default.', nullable: true })
  fontFamily: string | null;
}

@ObjectType({ description: "The organization's security policies (owners and admins change them)." })
@RequiresScopes('org:read')
export class SecuritySettings {
  @Field(() => Boolean, { description: 'Require MFA for all users of the organization. Default false.' })
  requireMfa: boolean;

  @Field(() => Boolean, { description: 'Let users bring their own LLM provider API keys. Default false.' })
  allowUserKeyOverride: boolean;

  @Field(() => Boolean, {
    description: 'Let workspaces set their own LLM proxy settings (model routing). Default false.',
  })
  allowWorkspaceLlmOverrides: boolean;
}

@ObjectType({ description: 'An organization-wide announcement.' })
@RequiresScopes('org:read')
export class Banner {
  @Field(() => String, { description: 'Text shown to every member, trimmed, up to 500 characters.' })
  message: string;

  @Field(() => BannerVariant, { description: 'How prominently the banner is shown.' })
  variant: BannerVariant;

  @Field(() => Boolean, { description: 'Whether members may hide the banner for themselves.' })
  dismissible: boolean;
}

@ObjectType({ description: 'How much request tracing the gateway captures for this organization.' })
@RequiresScopes('org:read')
export class GatewayTraceConfig {
  @Field(() => TraceMode, { description: 'Which requests are traced; NONE until an admin changes it.' })
  mode: TraceMode;

  @Field(() => Float, { description: 'Used when mode is sampled: 0.00 to 1.00. Default 1.00.' })
  sampleRate: number;

  @Field(() => Int, { description: 'Days trace data is kept: 1 to 365. Default 30.' })
  retentionDays: number;
}
