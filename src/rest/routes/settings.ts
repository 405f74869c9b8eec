import { Field, ObjectType } from 'type-graphql';
import type { RequestContext } from '../../context/request-context';
import type { Organization } from '../../modules/organization/organization.entity';
import { organizationService } from '../../modules/organization/organization.service';
import {
  SetBannerInput,
  UpdateBrandingInput,
  UpdateSecuritySettingsInput,
  UpdateTraceConfigInput,
} from '../../modules/organization-settings/settings.inputs';
import { settingsService, settingsView } from '../../modules/organization-settings/settings.service';
import {
  Banner,
  Branding,
  GatewayTraceConfig,
  SecuritySettings,
} from '../../modules/organization-settings/settings.types';
import { ORG, route, type Route } from '../route';

/**
 * The organization's settings as one REST resource. GraphQL exposes them as fields of Organization
 * (branding, security, banner, traceConfig); this object type groups those same types for REST and
 * OpenAPI. It is never reachable from the GraphQL schema, so type-graphql does not emit it there.
 */
@ObjectType('OrganizationSettings', { description: "The organization's settings (GraphQL: fields of Organization)." })
export class OrganizationSettings {
  @Field(() => Branding, { description: 'Colours and font the platform UI uses for this organization.' })
  branding: Branding;

  @Field(() => SecuritySettings, { description: "The organization's security policies." })
  security: SecuritySettings;

  @Field(() => Banner, { nullable: true, description: 'null when no banner is set.' })
  banner: Banner | null;

  @Field(() => GatewayTraceConfig, { description: 'Which requests are traced and how long traces are kept.' })
  traceConfig: GatewayTraceConfig;
}

function view(org: Organization): OrganizationSettings {
  return {
    branding: settingsView.branding(org),
    security: settingsView.security(org),
    banner: settingsView.banner(org),
    traceConfig: settingsView.traceConfig(org),
  };
}

const SETTINGS = `${ORG}/settings`;
const read = async (ctx: RequestContext) => view(await organizationService.current(ctx));
const current = { type: OrganizationSettings, load: read };
const write = { tag: 'settings', scopes: ['org:write' as const, 'org:read' as const], current };

/** `/orgs/{org_id}/settings` and its parts; every change answers the whole settings resource. */
export const settingsRoutes: Route[] = [
  route({
    method: 'get',
    path: SETTINGS,
    operationId: 'getSettings',
    summary: "Read the organization's settings",
    tag: 'settings',
    scopes: ['org:read'],
    result: { kind: 'object', type: OrganizationSettings },
    handle: read,
  }),
  route<UpdateBrandingInput, OrganizationSettings>({
    ...write,
    method: 'patch',
    path: `${SETTINGS}/branding`,
    operationId: 'updateBranding',
    summary: 'Change the branding (owners and admins)',
    body: { input: UpdateBrandingInput, partial: true },
    result: { kind: 'object', type: OrganizationSettings },
    audit: { operation: 'updateBranding', targetType: 'Organization', targetId: (_r, req) => req.params.org_id },
    handle: async (ctx, req) => view(await settingsService.updateBranding(ctx, req.body)),
  }),
  route<UpdateSecuritySettingsInput, OrganizationSettings>({
    ...write,
    method: 'patch',
    path: `${SETTINGS}/security`,
    operationId: 'updateSecuritySettings',
    summary: 'Change the security policies (owners and admins)',
    body: { input: UpdateSecuritySettingsInput, partial: true },
    result: { kind: 'object', type: OrganizationSettings },
    audit: {
      operation: 'updateSecuritySettings',
      targetType: 'Organization',
      targetId: (_r, req) => req.params.org_id,
    },
    handle: async (ctx, req) => view(await settingsService.updateSecurity(ctx, req.body)),
  }),
  route<SetBannerInput, OrganizationSettings>({
    ...write,
    method: 'put',
    path: `${SETTINGS}/banner`,
    operationId: 'setBanner',
    summary: 'Show a banner to every member, replacing any current one (owners and admins)',
    body: { input: SetBannerInput },
    result: { kind: 'object', type: OrganizationSettings },
    audit: { operation: 'setBanner', targetType: 'Organization', targetId: (_r, req) => req.params.org_id },
    handle: async (ctx, req) => view(await settingsService.setBanner(ctx, req.body)),
  }),
  route<undefined, unknown>({
    ...write,
    method: 'delete',
    path: `${SETTINGS}/banner`,
    operationId: 'clearBanner',
    summary: 'Remove the banner (owners and admins)',
    result: { kind: 'none' },
    audit: { operation: 'clearBanner', targetType: 'Organization', targetId: (_r, req) => req.params.org_id },
    handle: (ctx) => settingsService.clearBanner(ctx),
  }),
  route<UpdateTraceConfigInput, OrganizationSettings>({
    ...write,
    method: 'patch',
    path: `${SETTINGS}/trace-config`,
    operationId: 'updateTraceConfig',
    summary: 'Change which requests are traced and for how long (owners and admins)',
    body: { input: UpdateTraceConfigInput, partial: true },
    result: { kind: 'object', type: OrganizationSettings },
    audit: { operation: 'updateTraceConfig', targetType: 'Organization', targetId: (_r, req) => req.params.org_id },
    handle: async (ctx, req) => view(await settingsService.updateTraceConfig(ctx, req.body)),
  }),
];
