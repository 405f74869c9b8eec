import type { Scope } from './scopes';

/** Who is calling, as proven by a verified token. The only source of an organization id in a request. */
export interface Principal {
  /** The organization (tenant) the token was issued for. */
  orgId: string;
  /** `sub`: a user id, or `apikey:<id>` for tokens exchanged from an API key. */
  subject: string;
  kind: 'user' | 'api_key';
  scopes: ReadonlySet<Scope | string>;
  /** Token id, when the issuer set one. */
  tokenId?: string;
  issuer: string;
  /** API-key principals: the member the key answers to (it acts with their visibility and roles); null = org-wide key. */
  keyOwner?: string | null;
}

export function hasAllScopes(principal: Principal, scopes: readonly string[]): boolean {
  return scopes.every((scope) => principal.scopes.has(scope));
}
