import type DataLoader from 'dataloader';
import type { TenantScope } from '../../db/tenant-scope';
import { byIdLoader } from '../../db/tenant-loaders';
import { API_KEY_COLUMNS, ApiKey } from './api-key.entity';

/** Per-request loaders of the API-key module (never the secret hash: an explicit column list). */
export class ApiKeyLoaders {
  readonly byId: DataLoader<string, ApiKey | null>;

  constructor(scope: TenantScope) {
    this.byId = byIdLoader(scope, ApiKey, { columns: API_KEY_COLUMNS });
  }
}
