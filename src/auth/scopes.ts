/**
 * The scope catalogue: the unit tokens and API keys are granted. Each GraphQL field names the scopes it
 * needs with @requiresScopes (see schema.graphql); the README lists which operations each scope opens.
 */
export const SCOPES = [
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
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
