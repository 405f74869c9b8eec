import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';

export enum OrganizationStatus {
  active = 'active',
  suspended = 'suspended',
  archived = 'archived',
}
export enum SupportTier {
  community = 'community',
  standard = 'standard',
  premium = 'premium',
  enterprise = 'enterprise',
}
registerEnumType(OrganizationStatus, { name: 'OrganizationStatus' });
registerEnumType(SupportTier, { name: 'SupportTier' });

/** The tenant. Its id is the `org` claim of every token; its row is visible only to itself (RLS). */
@Entity({ name: 'organizations' })
@ObjectType({ description: 'The tenant: everything else belongs to exactly one organization.' })
@Directive('@requiresScopes(scopes: [["org:read"]])')
export class Organization {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('text')
  @Field(() => String)
  name: string;

  @Column('text')
  @Field(() => String, { description: 'URL-safe identifier, unique across the platform.' })
  slug: string;

  @Column('text')
  @Field(() => OrganizationStatus)
  status: OrganizationStatus;

  @Column('text', { name: 'primary_domain', nullable: true })
  @Field(() => String, { nullable: true })
  primaryDomain: string | null;

  @Column('text', { nullable: true })
  @Field(() => String, { nullable: true })
  industry: string | null;

  @Column('text', { name: 'contact_email', nullable: true })
  @Field(() => String, { nullable: true })
  contactEmail: string | null;

  @Column('text', { name: 'billing_email', nullable: true })
  @Field(() => String, { nullable: true })
  billingEmail: string | null;

  @Column('text', { name: 'support_tier' })
  @Field(() => SupportTier)
  supportTier: SupportTier;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field(() => Date)
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  @Field(() => Date)
  updatedAt: Date;
}
