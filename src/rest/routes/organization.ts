import { Organization } from '../../modules/organization/organization.entity';
import { UpdateOrganizationInput } from '../../modules/organization/organization.inputs';
import { organizationService } from '../../modules/organization/organization.service';
import { ORG, route, type Route } from '../route';

const current = { type: Organization, load: organizationService.current };

/** The caller's organization: `/orgs/{org_id}` (general settings; status and support tier are platform operations). */
export const organizationRoutes: Route[] = [
  route({
    method: 'get',
    path: ORG,
    operationId: 'getOrganization',
    summary: 'Read the organization',
    tag: 'organization',
    scopes: ['org:read'],
    result: { kind: 'object', type: Organization },
    handle: (ctx) => organizationService.current(ctx),
  }),
  route<UpdateOrganizationInput, Organization>({
    method: 'patch',
    path: ORG,
    operationId: 'updateOrganization',
    summary: "Change the organization's general settings (owners and admins)",
    tag: 'organization',
    scopes: ['org:write', 'org:read'],
    body: { input: UpdateOrganizationInput, partial: true },
    result: { kind: 'object', type: Organization },
    audit: { operation: 'updateOrganization', targetType: 'Organization' },
    current,
    handle: (ctx, req) => organizationService.update(ctx, req.body),
  }),
];
