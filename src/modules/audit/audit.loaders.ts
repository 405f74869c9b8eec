import type DataLoader from 'dataloader';
import type { TenantScope } from '../../db/tenant-scope';
import { byIdLoader } from '../../db/tenant-loaders';
import { AuditEntry } from './audit.entity';

/** Per-request loaders of the audit module. */
export class AuditLoaders {
  readonly byId: DataLoader<string, AuditEntry | null>;

  constructor(scope: TenantScope) {
    this.byId = byIdLoader(scope, AuditEntry);
  }
}
