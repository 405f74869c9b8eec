/**
 * The PostgreSQL role every tenant transaction runs as (`SET LOCAL ROLE`). Created by the first migration:
 * NOLOGIN, not superuser, not BYPASSRLS, owner of nothing. Row-level security applies to it always.
 */
export const TENANT_ROLE = 'manifest_app';
