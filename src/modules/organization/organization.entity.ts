import { Node } from '../../graphql/node';
import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { RequiresScopes } from '../../auth/decorators';

export enum OrganizationStatus {
  ACTIVE = 'active',
  SUSPENDED = 'suspended',
  ARCHIVED = 'archived',
}
export enum SupportTier {
  COMMUNITY = 'community',
  STANDARD = 'standard',
  PREMIUM = 'premium',
  ENTERPRISE = 'enterprise',
}
registerEnumType(OrganizationStatus, {
  name: 'OrganizationStatus',
  description: 'The lifecycle state of an organization, set by platform operations.',
  valuesConfig: {
    ACTIVE: { description: 'Normal operation.' },
    SUSPENDED: { description: 'Reads work; every mutation is refused with ORG_SUSPENDED.' },
    ARCHIVED: { description: 'Everything is refused with ORG_ARCHIVED.' },
  },
});
registerEnumType(SupportTier, {
  name: 'SupportTier',
  description: 'The support plan of an organization, set by platform operations.',
  valuesConfig: {
    COMMUNITY: { description: 'Community support only.' },
    STANDARD: { description: 'Standard support.' },
    PREMIUM: { description: 'Premium support with faster response times.' },
    ENTERPRISE: { description: 'Enterprise support with a named contact.' },
  },
});

/** The tenant. Its id is the `org` claim of every token; its row is visible only to itself (RLS). */
@Entity({ name: 'organizations' })
@ObjectType({ implements: Node, description: 'The tenant: everything else belongs to exactly one organization.' })
@RequiresScopes('org:read')
export class Organization {
  @PrimaryColumn('uuid')
  @Field(() => ID, {
    description: 'Global id of the organization (Node). The CLI and platform API print the stored UUID instead.',
  })
  id: string;

  @Column('text')
  @Field(() => String, { description: 'Display name, 1 to 200 characters.' })
  name: string;

  @Column('text')
  @Field(() => String, { description: 'URL-safe identifier, unique across the platform.' })
  slug: string;

  @Column('text')
  @Field(() => OrganizationStatus, {
    description:
      'Lifecycle state: SUSPENDED refuses mutations, ARCHIVED refuses everything. Set by platform operations only.',
  })
  status: OrganizationStatus;

  @Column('text', { name: 'primary_domain', nullable: true })
  @Field(() => String, { description: "The organization's main DNS domain (lower-case), or null.", nullable: true })
  primaryDomain: string | null;

  @Column('text', { nullable: true })
  @Field(() => String, { description: 'Free-text industry, up to 100 characters, or null.', nullable: true })
  industry: string | null;

  @Column('text', { name: 'contact_email', nullable: true })
  @Field(() => String, { description: 'Where operational notices go, or null.', nullable: true })
  contactEmail: string | null;

  @Column('text', { name: 'billing_email', nullable: true })
  @Field(() => String, { description: 'Where invoices go, or null.', nullable: true })
  billingEmail: string | null;

  @Column('text', { name: 'support_tier' })
  @Field(() => SupportTier, { description: 'Support plan; set by platform operations only.' })
  supportTier: SupportTier;

  // Settings (GraphQL exposes them grouped: branding, security, banner, traceConfig; see organization-settings/).
  @Column('text', { name: 'brand_primary_color', nullable: true })
  brandPrimaryColor: string | null;

  @Column('text', { name: 'brand_secondary_color', nullable: true })
  brandSecondaryColor: string | null;

  @Column('text', { name: 'brand_accent_color', nullable: true })
  brandAccentColor: string | null;

  @Column('text', { name: 'brand_font_family', nullable: true })
  brandFontFamily: string | null;

  @Column('boolean', { name: 'require_mfa' })
  requireMfa: boolean;

  @Column('boolean', { name: 'allow_user_key_override' })
  allowUserKeyOverride: boolean;

  /** Whether workspaces may set their own LLM proxy settings (model routing). */
  @Column('boolean', { name: 'allow_workspace_llm_overrides' })
  allowWorkspaceLlmOverrides: boolean;

  @Column('text', { name: 'banner_message', nullable: true })
  bannerMessage: string | null;

  @Column('text', { name: 'banner_variant' })
  bannerVariant: 'info' | 'warning' | 'error';

  @Column('boolean', { name: 'banner_dismissible' })
  bannerDismissible: boolean;

  @Column('text', { name: 'trace_mode' })
  traceMode: 'all' | 'errors_only' | 'sampled' | 'none';

  /** numeric(3,2): pg returns it as a string, e.g. "0.25". */
  @Column('numeric', { name: 'trace_sample_rate', precision: 3, scale: 2 })
  traceSampleRate: string;

  @Column('integer', { name: 'trace_retention_days' })
  traceRetentionDays: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When the organization was created.' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When any general setting last changed.' })
  updatedAt: Date;
}
