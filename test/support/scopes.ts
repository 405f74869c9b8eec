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
  'billing:read',
  'api_keys:manage',
  'traces:read',
];
