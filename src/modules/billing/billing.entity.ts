import { Node } from '../../graphql/node';
import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { LocalDate, SafeInt } from '../../graphql/scalars';
import { TenantEntity } from '../../db/tenant-entity';
import { ConnectionType } from '../../graphql/pagination';
import { RequiresScopes } from '../../auth/decorators';

export enum SubscriptionStatus {
  ACTIVE = 'active',
  TRIAL = 'trial',
  SUSPENDED = 'suspended',
  CANCELLED = 'cancelled',
  EXPIRED = 'expired',
}
export enum BillingCycle {
  MONTHLY = 'monthly',
  ANNUAL = 'annual',
  CUSTOM = 'custom',
}
export enum CreditEntryKind {
  GRANT = 'grant',
  CONSUMPTION = 'consumption',
  ADJUSTMENT = 'adjustment',
}
registerEnumType(SubscriptionStatus, {
  name: 'SubscriptionStatus',
  description: 'The state of a product subscription. A subscription status never locks data out.',
  valuesConfig: {
    ACTIVE: { description: 'Paid and current.' },
    TRIAL: { description: 'A free trial between trialStartsOn and trialEndsOn.' },
    SUSPENDED: { description: 'Paused by the billing system (for example an unpaid invoice).' },
    CANCELLED: { description: 'Ended by the customer.' },
    EXPIRED: { description: 'Ended at the end of its term or trial.' },
  },
});
registerEnumType(BillingCycle, {
  name: 'BillingCycle',
  description: 'How often a subscription is invoiced.',
  valuesConfig: {
    MONTHLY: { description: 'Every month.' },
    ANNUAL: { description: 'Every year.' },
    CUSTOM: { description: 'On terms agreed separately.' },
  },
});
registerEnumType(CreditEntryKind, {
  name: 'CreditEntryKind',
  description: 'Why the credit balance changed.',
  valuesConfig: {
    GRANT: { description: 'Credits added by the billing system (positive amount).' },
    CONSUMPTION: { description: 'Credits used by recorded usage (negative amount).' },
    ADJUSTMENT: { description: 'A correction by the billing system (positive or negative amount).' },
  },
});

/** Statuses after which a subscription is history: it cannot be changed again (subscribe anew instead). */
export const FINAL_SUBSCRIPTION_STATUSES: readonly SubscriptionStatus[] = [
  SubscriptionStatus.CANCELLED,
  SubscriptionStatus.EXPIRED,
];

/**
 * A product the organization subscribes to. Managed by the billing system / platform admin (CLI);
 * named ProductSubscription in GraphQL because `Subscription` is GraphQL's root type name.
 */
@Entity({ name: 'subscriptions' })
@ObjectType('ProductSubscription', {
  implements: Node,
  description: 'A product subscription of the organization (managed by the platform).',
})
@RequiresScopes('billing:read')
export class ProductSubscription extends TenantEntity {
  @Column('text', { name: 'product_name' })
  @Field(() => String, { description: 'Name of the product subscribed to (unique among live subscriptions).' })
  productName: string;

  @Column('text')
  @Field(() => SubscriptionStatus, { description: 'Current state of the subscription.' })
  status: SubscriptionStatus;

  @Column('text', { name: 'billing_cycle' })
  @Field(() => BillingCycle, { description: 'How often it is invoiced.' })
  billingCycle: BillingCycle;

  @Column('boolean', { name: 'auto_renew' })
  @Field(() => Boolean, { description: 'Whether it renews at the end of its term (false once cancelled).' })
  autoRenew: boolean;

  /** Read as text (YYYY-MM-DD): a JS Date would shift the day with the server's time zone. */
  @Column('date', { name: 'trial_end_date', nullable: true })
  @Field(() => LocalDate, {
    nullable: true,
    description: 'End of the trial period (YYYY-MM-DD); always set while status is trial.',
  })
  trialEndDate: string | null;
}

export const ProductSubscriptionConnection = ConnectionType(ProductSubscription);

/** One organization's credit balance (absent row = 0). */
@Entity({ name: 'credit_balances' })
export class CreditBalance {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @Column('bigint')
  balance: string;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** The organization's credits: the balance and the ledger that explains it. */
@ObjectType({ description: "The organization's credit account. The sum of the ledger always equals the balance." })
@RequiresScopes('billing:read')
export class CreditAccount {
  @Field(() => SafeInt, {
    description: 'Credits available now; never negative (usage that would overdraw it is refused).',
  })
  balance: number;

  @Field(() => Date, { nullable: true, description: 'When the balance last changed (null: never).' })
  updatedAt: Date | null;
}

/** An append-only record of one change to the balance. */
@Entity({ name: 'credit_ledger' })
@ObjectType({
  implements: Node,
  description: 'One change to the credit balance. Entries are never changed or deleted.',
})
@RequiresScopes('billing:read')
export class CreditLedgerEntry {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @PrimaryColumn('uuid')
  @Field(() => ID, { description: 'Global id of the entry (Node).' })
  id: string;

  @Column('text')
  @Field(() => CreditEntryKind, { description: 'Why the balance changed.' })
  kind: CreditEntryKind;

  /** bigint columns arrive as strings; the service turns them into numbers (they are capped at 2^53 - 1). */
  @Column('bigint')
  @Field(() => SafeInt, { description: 'Positive for grants, negative for consumption.' })
  amount: number;

  @Column('bigint', { name: 'balance_after' })
  @Field(() => SafeInt, { description: 'The balance right after this entry, in credits.' })
  balanceAfter: number;

  @Column('text')
  @Field(() => String, { description: 'Free-text reason given by whoever made the change.' })
  reason: string;

  @Column('text')
  @Field(() => String, { description: "Who: the token subject (user id or apikey:<id>), or 'platform'." })
  actor: string;

  @Column('uuid', { name: 'workspace_id', nullable: true })
  @Field(() => ID, {
    nullable: true,
    description: 'The workspace the usage was for (null once that workspace is deleted).',
  })
  workspaceId: string | null;

  @Column('text', { name: 'request_id', nullable: true })
  @Field(() => String, { nullable: true, description: 'The request that made the change (x-request-id).' })
  requestId: string | null;

  @Column('text', { name: 'idempotency_key', nullable: true })
  @Field(() => String, { nullable: true, description: "The client's idempotency key, when it sent one." })
  idempotencyKey: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When the entry was recorded.' })
  createdAt: Date;
}

export const CreditLedgerEntryConnection = ConnectionType(CreditLedgerEntry);
