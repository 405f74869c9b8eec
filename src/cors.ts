import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Cross-origin access for browser front ends (README "CORS"), with the `cors` package.
 *
 * Decision: any origin by default (`CORS_ALLOWED_ORIGINS=*`), never with credentials. Every API here is
 * authenticated by an `Authorization: Bearer` header that a page must hold and send itself; no cookie or other
 * ambient credential exists, so a foreign page gains nothing through CORS that it could not do with curl, and
 * the browser still sends no `Authorization` it was not given. It is Apollo Server's standalone default and
 * Hasura's. Operators narrow it to a list of origins, or switch it off (`none`).
 *
 * Only a real preflight (OPTIONS with `Access-Control-Request-Method`) is answered here (204); any other OPTIONS
 * goes on to its route (REST answers 405 with `Allow`). Preflights are answered before authentication, as the
 * Fetch standard requires (a browser never sends credentials on a preflight).
 */
export function corsMiddleware(origins: '*' | string[] | null): RequestHandler {
  if (origins === null) return (_req, _res, next) => next();
  const handler = cors({
    // A list is matched exactly; the answer then names the one origin and varies on Origin.
    origin: origins === '*' ? '*' : origins,
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'authorization',
      'content-type',
      'apollo-require-preflight',
      'x-apollo-operation-name',
      'x-request-id',
      'traceparent',
      'tracestate',
      'if-match',
      'if-none-match',
    ],
    exposedHeaders: ['etag', 'location', 'link', 'retry-after', 'traceparent', 'x-request-id', 'allow'],
    maxAge: 600,
    optionsSuccessStatus: 204,
  });
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'OPTIONS' && !req.headers['access-control-request-method']) return next();
    handler(req, res, next);
  };
}
