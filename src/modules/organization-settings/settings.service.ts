import type { RequestContext } from '../../context/request-context';
import type { Organization } from '../organization/organization.entity';
import { organizationService } from '../organization/organization.service';
import type { Banner, Branding, GatewayTraceConfig, SecuritySettings } from './settings.types';
import { type BannerVariant, type TraceMode } from './settings.types';
import type {
  SetBannerInput,
  UpdateBrandingInput,
  UpdateSecuritySettingsInput,
  UpdateTraceConfigInput,
} from './settings.inputs';

/** Organization settings are columns of the organization row: reads cost nothing extra. */
export const settingsView = {
  branding: (o: Organization): Branding => ({
    primaryColor: o.brandPrimaryColor,
    secondaryColor: o.brandSecondaryColor,
    accentColor: o.brandAccentColor,
    fontFamily: o.brandFontFamily,
  }),
  security: (o: Organization): SecuritySettings => ({
    requireMfa: o.requireMfa,
    allowUserKeyOverride: o.allowUserKeyOverride,
    allowWorkspaceLlmOverrides: o.allowWorkspaceLlmOverrides,
  }),
  banner: (o: Organization): Banner | null =>
    o.bannerMessage
      ? { message: o.bannerMessage, variant: o.bannerVariant as BannerVariant, dismissible: o.bannerDismissible }
      : null,
  traceConfig: (o: Organization): GatewayTraceConfig => ({
    mode: o.traceMode as TraceMode,
    sampleRate: Number(o.traceSampleRate),
    retentionDays: o.traceRetentionDays,
  }),
};

/** Copies the fields the input mentions (undefined = keep) onto a column patch. */
function patch<I extends object>(input: I, columns: { [K in keyof I]?: keyof Organization }): Partial<Organization> {
  const values: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(columns) as Array<[keyof I, keyof Organization]>) {
    if (input[field] !== undefined) values[column as string] = input[field];
  }
  return values as Partial<Organization>;
}

const updateOrganization = (ctx: RequestContext, values: Partial<Organization>) =>
  organizationService.updateColumns(ctx, values);

export const settingsService = {
  updateBranding: (ctx: RequestContext, input: UpdateBrandingInput) =>
    updateOrganization(
      ctx,
      patch(input, {
        primaryColor: 'brandPrimaryColor',
        secondaryColor: 'brandSecondaryColor',
        accentColor: 'brandAccentColor',
        fontFamily: 'brandFontFamily',
      }),
    ),
  updateSecurity: (ctx: RequestContext, input: UpdateSecuritySettingsInput) =>
    updateOrganization(
      ctx,
      patch(input, {
        requireMfa: 'requireMfa',
        allowUserKeyOverride: 'allowUserKeyOverride',
        allowWorkspaceLlmOverrides: 'allowWorkspaceLlmOverrides',
      }),
    ),
  setBanner: (ctx: RequestContext, input: SetBannerInput) =>
    updateOrganization(ctx, {
      bannerMessage: input.message.trim(),
      bannerVariant: input.variant,
      bannerDismissible: input.dismissible,
    }),
  clearBanner: (ctx: RequestContext) => updateOrganization(ctx, { bannerMessage: null }),
  updateTraceConfig: (ctx: RequestContext, input: UpdateTraceConfigInput) =>
    updateOrganization(ctx, {
      ...patch(input, { mode: 'traceMode', retentionDays: 'traceRetentionDays' }),
      ...(input.sampleRate !== undefined ? { traceSampleRate: input.sampleRate.toFixed(2) } : {}),
    }),
};
