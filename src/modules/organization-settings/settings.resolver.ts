import { Arg, Ctx, Directive, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { tenantOf, type GatewayContext } from '../../graphql/context';
import { Organization } from '../organization/organization.entity';
import { SetBannerInput, UpdateBrandingInput, UpdateSecuritySettingsInput, UpdateTraceConfigInput } from './settings.inputs';
import { settingsService, settingsView } from './settings.service';
import { Banner, Branding, GatewayTraceConfig, SecuritySettings } from './settings.types';

/** Settings: readable by every member (org:read); changed by org owners and admins (org:write). */
@Resolver(() => Organization)
export class OrganizationSettingsResolver {
  @FieldResolver(() => Branding)
  branding(@Root() org: Organization): Branding {
    return settingsView.branding(org);
  }

  @FieldResolver(() => SecuritySettings)
  security(@Root() org: Organization): SecuritySettings {
    return settingsView.security(org);
  }

  @FieldResolver(() => Banner, { nullable: true, description: 'null when no banner is set.' })
  banner(@Root() org: Organization): Banner | null {
    return settingsView.banner(org);
  }

  @FieldResolver(() => GatewayTraceConfig)
  traceConfig(@Root() org: Organization): GatewayTraceConfig {
    return settingsView.traceConfig(org);
  }

  @Mutation(() => Organization, { nullable: true })
  @Directive('@requiresScopes(scopes: [["org:write"]])')
  updateBranding(@Arg('input', () => UpdateBrandingInput) input: UpdateBrandingInput, @Ctx() ctx: GatewayContext): Promise<Organization> {
    return settingsService.updateBranding(tenantOf(ctx), input);
  }

  @Mutation(() => Organization, { nullable: true })
  @Directive('@requiresScopes(scopes: [["org:write"]])')
  updateSecuritySettings(@Arg('input', () => UpdateSecuritySettingsInput) input: UpdateSecuritySettingsInput, @Ctx() ctx: GatewayContext): Promise<Organization> {
    return settingsService.updateSecurity(tenantOf(ctx), input);
  }

  @Mutation(() => Organization, { nullable: true })
  @Directive('@requiresScopes(scopes: [["org:write"]])')
  setBanner(@Arg('input', () => SetBannerInput) input: SetBannerInput, @Ctx() ctx: GatewayContext): Promise<Organization> {
    return settingsService.setBanner(tenantOf(ctx), input);
  }

  @Mutation(() => Organization, { nullable: true })
  @Directive('@requiresScopes(scopes: [["org:write"]])')
  clearBanner(@Ctx() ctx: GatewayContext): Promise<Organization> {
    return settingsService.clearBanner(tenantOf(ctx));
  }

  @Mutation(() => Organization, { nullable: true })
  @Directive('@requiresScopes(scopes: [["org:write"]])')
  updateTraceConfig(@Arg('input', () => UpdateTraceConfigInput) input: UpdateTraceConfigInput, @Ctx() ctx: GatewayContext): Promise<Organization> {
    return settingsService.updateTraceConfig(tenantOf(ctx), input);
  }
}
