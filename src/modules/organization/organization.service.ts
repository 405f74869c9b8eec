import type { RequestContext } from '../../context/request-context';
import { updateReturning } from '../../db/writes';
import { Organization } from './organization.entity';
import type { UpdateOrganizationInput } from './organization.inputs';
import { UnauthenticatedError } from '../../errors';

export const organizationService = {
  async current(ctx: RequestContext): Promise<Organization> {
    const organization = await ctx.loaders.organization.current();
    // The token named an organization that does not exist (any more): the token is worthless.
    if (!organization) throw new UnauthenticatedError('The organization of this token does not exist');
    return organization;
  },

  async update(ctx: RequestContext, input: UpdateOrganizationInput): Promise<Organization> {
    const values: Partial<Organization> = {};
    if (input.name !== undefined) values.name = input.name!.trim();
    if (input.industry !== undefined) values.industry = input.industry;
    if (input.contactEmail !== undefined) values.contactEmail = input.contactEmail;
    if (input.billingEmail !== undefined) values.billingEmail = input.billingEmail;
    if (input.primaryDomain !== undefined) values.primaryDomain = input.primaryDomain?.toLowerCase() ?? null;
    return organizationService.updateColumns(ctx, values);
  },

  /** Changes columns of the caller's own organization row (general settings, branding, security, banner, tracing). */
  async updateColumns(ctx: RequestContext, values: Partial<Organization>): Promise<Organization> {
    return ctx.scope.mutation(async (manager) => {
      const updated = await updateReturning(
        manager,
        Organization,
        { orgColumn: 'id', orgId: ctx.orgId, id: ctx.orgId },
        values,
      );
      if (!updated) throw new UnauthenticatedError('The organization of this token does not exist');
      return updated;
    });
  },
};
