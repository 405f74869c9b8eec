import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from './principal';
import { InvalidTokenError, type TokenService } from './tokens';
import { unauthenticated } from '../graphql/errors';

/**
 * Authorization header → Principal. No header: anonymous (the directives refuse guarded fields, while
 * introspection stays possible for explorers). A header that is present but wrong refuses the whole
 * request with 401, so a broken token is never silently treated as "no token".
 */
export async function authenticate(headers: IncomingHttpHeaders, tokens: TokenService): Promise<Principal | null> {
  const header = headers.authorization;
  if (header === undefined || header === '') return null;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header.trim());
  if (!match) throw withChallenge(unauthenticated('Authorization header must be "Bearer <token>"'));
  try {
    return await tokens.verify(match[1]);
  } catch (error) {
    if (error instanceof InvalidTokenError) throw withChallenge(unauthenticated(`Invalid token: ${error.message}`));
    throw error;
  }
}

function withChallenge<E extends { extensions: Record<string, unknown> }>(error: E): E {
  const http = (error.extensions.http ?? {}) as { status?: number };
  (error.extensions as Record<string, unknown>).http = {
    ...http,
    headers: new Map([['www-authenticate', 'Bearer error="invalid_token"']]),
  };
  return error;
}
