import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import type { TenantScope } from '../db/tenant-scope';
import type { Loaders } from './loaders';
import type { Access } from '../auth/access';
import { unauthenticated } from './errors';
import type { Keyring } from '../secrets/keyring';

/**
 * What every resolver gets. `tenant` is attached once the operation is known (read-only or not) by the
 * tenant plugin, and only for an authenticated caller; the auth directives guarantee that any field that
 * needs it has a principal.
 */
export interface GatewayContext {
  requestId: string;
  log: Logger;
  principal: Principal | null;
  /** Seals and opens secrets at rest (cloud credentials, connector secrets). */
  keyring: Keyring;
  tenant?: Tenant;
  /**
   * Shared with the HTTP layer. Finding: Apollo Server 5 shallow-copies the context object per request,
   * so a property the plugin sets on the copy (tenant) is invisible to the object the HTTP layer holds;
   * this holder is the same object in both, so the response-close safety net can reach the scope.
   */
  lifecycle: { scope?: TenantScope; aborted?: boolean };
}

export interface Tenant {
  scope: TenantScope;
  loaders: Loaders;
  access: Access;
}

export function tenantOf(context: GatewayContext): Tenant {
  if (!context.tenant) throw unauthenticated();
  return context.tenant;
}
