/**
 * What the access log and the metrics learn about a request while it is served, from whichever layer
 * knows it (transport-neutral: the GraphQL plugin, openRequest, the token exchange, REST routes). Only
 * identifiers and counts: never a token, key, secret, query text or variable.
 *
 * The facts travel explicitly: the HTTP layer makes them per request (`res.locals.facts`, server.ts), the
 * GraphQL context carries them (`GatewayContext.facts`), and every layer with the request in hand writes
 * to them. No AsyncLocalStorage: on Node 20 an enabled AsyncLocalStorage installs promise hooks that run
 * for every promise of the process, which cost ~7 % of a W2 request's CPU (bench/README.md "Per-request
 * overhead"). The one layer that is handed no request, `openRequest` (transport-neutral, it takes its
 * options only), is called inside `withFacts`, and reads them synchronously (`currentFacts`, `noteCaller`)
 * before its first await.
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

let current: RequestFacts | undefined;

/**
 * Runs `fn` with `facts` as the current request's for the synchronous part of it (an async function: up to
 * its first await): for callees that are handed no request (openRequest). Restored afterwards, also on a throw.
 */
export function withFacts<T>(facts: RequestFacts | undefined, fn: () => T): T {
  const previous = current;
  current = facts;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** The facts of the request being served inside `withFacts` (synchronously); elsewhere undefined. */
export function currentFacts(): RequestFacts | undefined {
  return current;
}

/** Records the verified caller in `facts`. */
export function noteCallerIn(
  facts: RequestFacts | undefined,
  principal: { kind: 'user' | 'api_key'; subject: string; orgId: string },
): void {
  if (!facts) return;
  facts.orgId = principal.orgId;
  facts.principal = {
    kind: principal.kind,
    // API-key principals' subject is `apikey:<id>`: the key's id, never its secret.
    id: principal.kind === 'api_key' ? principal.subject.slice('apikey:'.length) : principal.subject,
  };
}

/** Records the verified caller of the request being served inside `withFacts`. */
export function noteCaller(principal: { kind: 'user' | 'api_key'; subject: string; orgId: string }): void {
  noteCallerIn(current, principal);
}
