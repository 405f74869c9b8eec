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
  // Another scheme (Basic, …) presented no bearer token: the bare challenge (RFC 6750 §3.1); a Bearer
  // header with a malformed token is an invalid token.
  if (!match)
    throw unauthenticated('Authorization header must be "Bearer <token>"', {
      tokenSent: /^bearer\b/i.test(header.trim()),
    });
  try {
    return await tokens.verify(match[1]);
  } catch (error) {
    if (error instanceof InvalidTokenError)
      throw unauthenticated(`Invalid token: ${error.message}`, { tokenSent: true });
    throw error;
  }
}
