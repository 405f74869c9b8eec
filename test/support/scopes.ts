/** The scope catalogue as clients see it (kept in step with src/auth/scopes.ts by the schema test). */
export const ALL_SCOPES = [
  'org:read',
  'org:write',
  'workspaces:read',
  'workspaces:write',
  'components:read',
  'components:write',
  'deployments:write',
  'connectors:write',
  'members:write',
  'billing:read',
  'billing:write',
  'api_keys:manage',
  'traces:read',
  'audit:read',
];
