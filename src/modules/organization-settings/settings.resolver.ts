import { Arg, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { Organization } from '../organization/organization.entity';
import {
  SetBannerInput,
  UpdateBrandingInput,
  UpdateSecuritySettingsInput,
  UpdateTraceConfigInput,
} from './settings.inputs';
import { settingsService, settingsView } from './settings.service';
import { Banner, Branding, GatewayTraceConfig, SecuritySettings } from './settings.types';
import { RequiresScopes } from '../../auth/decorators';

/** Settings: readable by every member (org:read); changed by org owners and admins (org:write). */
@Resolver(() => Organization)
export class OrganizationSettingsResolver {
  @FieldResolver(() => Branding, { description: 'Colours and font the platform UI uses for this organization.' })
  branding(@Root() org: Organization): Branding {
    return settingsView.branding(org);
  }

  @FieldResolver(() => SecuritySettings, {
    description: 'Security policies: MFA, user key overrides, workspace LLM overrides.',
  })
  security(@Root() org: Organization): SecuritySettings {
    return settingsView.security(org);
  }

  @FieldResolver(() => Banner, { nullable: true, description: 'null when no banner is set.' })
  banner(@Root() org: Organization): Banner | null {
    return settingsView.banner(org);
  }

  @FieldResolver(() => GatewayTraceConfig, { description: 'Which requests are traced and how long traces are kept.' })
  traceConfig(@Root() org: Organization): GatewayTraceConfig {
    return settingsView.traceConfig(org);
  }

  @Mutation(() => Organization, {
    description: "Changes the organization's branding (owners and admins). null (with an error) when refused.",
    nullable: true,
  })
  @RequiresScopes('org:write')
  updateBranding(
    @Arg('input', () => UpdateBrandingInput, {
      description: 'The colours and font to change; null resets one to the platform default.',
    })
    input: UpdateBrandingInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Organization> {
    return settingsService.updateBranding(ctx, input);
  }

  @Mutation(() => Organization, {
    description: "Changes the organization's security policies (owners and admins). null (with an error) when refused.",
    nullable: true,
  })
  @RequiresScopes('org:write')
  updateSecuritySettings(
    @Arg('input', () => UpdateSecuritySettingsInput, { description: 'The policies to change; omitted ones are kept.' })
    input: UpdateSecuritySettingsInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Organization> {
    return settingsService.updateSecurity(ctx, input);
  }

  @Mutation(() => Organization, {
    description: 'Shows a banner to every member, replacing any current one (owners and admins).',
    nullable: true,
  })
  @RequiresScopes('org:write')
  setBanner(
    @Arg('input', () => SetBannerInput, { description: "The banner's text, variant and dismissibility." })
    input: SetBannerInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Organization> {
    return settingsService.setBanner(ctx, input);
  }

  @Mutation(() => Organization, { description: 'Removes the organization banner (owners and admins).', nullable: true })
  @RequiresScopes('org:write')
  clearBanner(@RequestCtx() ctx: RequestContext): Promise<Organization> {
    return settingsService.clearBanner(ctx);
  }

  @Mutation(() => Organization, {
    description: 'Changes which requests are traced and for how long traces are kept (owners and admins).',
    nullable: true,
  })
  @RequiresScopes('org:write')
  updateTraceConfig(
    @Arg('input', () => UpdateTraceConfigInput, { description: 'The trace settings to change; omitted ones are kept.' })
    input: UpdateTraceConfigInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Organization> {
    return settingsService.updateTraceConfig(ctx, input);
  }
}
