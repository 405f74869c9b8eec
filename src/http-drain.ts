import type http from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

/**
 * Graceful shutdown of the HTTP side (issue 9): once `drain()` is called
 * - the listening socket closes (no new connections) and idle keep-alive connections are closed at once;
 * - a request read after that point is refused with 503 `SHUTTING_DOWN`, `Connection: close` and
 *   `Retry-After` *before* any of it runs (nothing is parsed, authenticated or executed), so a client can
 *   safely retry it elsewhere;
 * - requests already in flight run to the end, and their responses carry `Connection: close`, so the
 *   client does not send another request on a socket that is about to close (the race that made
 *   requests execute but go unanswered);
 * - after `graceMs`, connections still open are destroyed (reported as `forced`).
 * This replaces Apollo's drain plugin, which only starts once Apollo itself is stopping, i.e. after
 * the point where new operations are already refused with a generic error.
 */
export class HttpDrain {
  private draining = false;
  /** Requests between 'request' and their response's 'close', in arrival order (pipelined ones included). */
  private readonly inFlight = new Map<Response, Request>();

  constructor(
    private readonly server: http.Server,
    private readonly log: Logger,
  ) {}

  get isDraining(): boolean {
    return this.draining;
  }

  /** Must run before everything else that does work for a request. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      if (this.draining) {
        refuse(req, res);
        return;
      }
      this.inFlight.set(res, req);
      res.once('close', () => this.inFlight.delete(res));
      next();
    };
  }

  async drain(graceMs: number): Promise<{ forced: boolean; inFlightAtStart: number }> {
    this.draining = true;
    const inFlightAtStart = this.inFlight.size;
    // Only the last response on each connection may close it: with pipelining, Node has already handed
    // later requests on the same socket to the application, and their answers are queued behind the
    // earlier ones; closing after an earlier one would drop answers to requests that ran.
    const lastOnSocket = new Map<unknown, Response>();
    for (const [res, req] of this.inFlight) lastOnSocket.set(req.socket, res);
    for (const res of lastOnSocket.values()) {
      if (!res.headersSent) res.setHeader('connection', 'close');
      // Headers already on the wire (keep-alive promised): close the socket as soon as it goes idle.
      else res.once('finish', () => setImmediate(() => this.server.closeIdleConnections()));
    }
    let forced = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections(); // server.close() does it too since Node 19; explicit for clarity
    const timer = setTimeout(() => {
      forced = true;
      this.log.warn(
        { graceMs, inFlight: this.inFlight.size },
        'shutdown grace period over: closing the remaining connections',
      );
      this.server.closeAllConnections();
    }, graceMs);
    await closed;
    clearTimeout(timer);
    return { forced, inFlightAtStart };
  }
}

function refuse(req: Request, res: Response): void {
  const message = 'The server is shutting down; retry the request (on a new connection)';
  res.status(503).set({ connection: 'close', 'retry-after': '1', 'cache-control': 'no-store' });
  // The GraphQL endpoint answers in GraphQL's error shape so clients read `extensions.code` as usual.
  if (req.path === '/graphql' || req.path.startsWith('/graphql/')) {
    res.json({ errors: [{ message, extensions: { code: 'SHUTTING_DOWN', requestId: res.locals.requestId } }] });
  } else {
    res.json({ error: 'shutting_down', message, requestId: res.locals.requestId });
  }
  // The request body (if any) is never read; the socket closes after this response.
}
