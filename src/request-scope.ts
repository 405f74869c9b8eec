import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the access log and the metrics learn about a request while it is served, from whichever layer
 * knows it (transport-neutral: the GraphQL plugin, openRequest, the token exchange, REST routes). Only
 * identifiers and counts: never a token, key, secret, query text or variable.
 */
export interface RequestFacts {
  /** Who called, once a credential was verified. `id`: the user subject, the API key id, or null. */
  principal?: { kind: 'user' | 'api_key' | 'platform_admin'; id: string | null };
  /** The organization of a verified token. */
  orgId?: string;
  /** GraphQL: the resolved operation's type and name (null: anonymous). */
  operation?: { type: string; name: string | null };
  /** The request's tenant scope, read at the end for its statement count. */
  scope?: { readonly statements: number };
}

/**
 * The request being served (set by the HTTP layer for the whole request), so that every error formatted
 * for it, also the ones Apollo raises before any plugin runs (bad HTTP parameters, a refused token), carries
 * `extensions.requestId`; `facts` collects what the access log writes when the response ends.
 */
export const requestScope = new AsyncLocalStorage<{ requestId: string; legacyJson?: boolean; facts?: RequestFacts }>();

/** The facts of the request being served, if there is one (outside a request: undefined). */
export function currentFacts(): RequestFacts | undefined {
  return requestScope.getStore()?.facts;
}

/** Records the verified caller of the request being served. */
export function noteCaller(principal: { kind: 'user' | 'api_key'; subject: string; orgId: string }): void {
  const facts = currentFacts();
  if (!facts) return;
  facts.orgId = principal.orgId;
  facts.principal = {
    kind: principal.kind,
    // API-key principals' subject is `apikey:<id>`: the key's id, never its secret.
    id: principal.kind === 'api_key' ? principal.subject.slice('apikey:'.length) : principal.subject,
  };
}
