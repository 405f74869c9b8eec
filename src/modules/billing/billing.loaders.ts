import type DataLoader from 'dataloader';
import type { TenantScope } from '../../db/tenant-scope';
import { byIdLoader } from '../../db/tenant-loaders';
import { CreditLedgerEntry, ProductSubscription } from './billing.entity';
import { SUBSCRIPTION_COLUMNS, numericLedgerEntry } from './billing.sql';

/** Per-request loaders of the billing module. */
export class BillingLoaders {
  readonly subscription: DataLoader<string, ProductSubscription | null>;
  readonly ledgerEntry: DataLoader<string, CreditLedgerEntry | null>;

  constructor(scope: TenantScope) {
    this.subscription = byIdLoader(scope, ProductSubscription, { columns: SUBSCRIPTION_COLUMNS });
    this.ledgerEntry = byIdLoader(scope, CreditLedgerEntry, { map: numericLedgerEntry });
  }
}
