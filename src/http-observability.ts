import type { Application, Request, Response } from 'express';
import type { Logger } from 'pino';
import { MAX_OPERATION_NAME_LENGTH, methodLabel, UNMATCHED_ROUTE, type Metrics } from './metrics';
import type { RequestFacts } from './request-scope';

/** What express 5's router (router 2) keeps per layer: `route` for app.get(…), `handle.stack` for a Router. */
interface LayerLike {
  route?: { path: unknown };
  handle?: { stack?: unknown };
  rawPath?: unknown;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

function pathText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) return raw.map(pathText).join('|');
  return String(raw);
}

function joinPath(prefix: string, path: string): string {
  const joined = path === '/' || path === '' ? prefix : prefix + path;
  if (joined === '') return '/';
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

const LITERAL_SEGMENT = /^[A-Za-z0-9._~-]*$/;

/** A mount path with `:param` / `*rest` segments as a regular expression (others: null, not labelled). */
function mountPattern(template: string): RegExp | null {
  const parts: string[] = [];
  for (const segment of template.split('/')) {
    if (/^:[A-Za-z_]\w*$/.test(segment)) parts.push('[^/]+');
    else if (/^\*[A-Za-z_]\w*$/.test(segment)) parts.push('.+');
    else if (LITERAL_SEGMENT.test(segment)) parts.push(segment.replace(/\./g, '\\.'));
    else return null;
  }
  return new RegExp(`^${parts.join('/')}$`, 'i');
}

/**
 * The route template of a request (`/graphql`, `/platform/v1/organizations/:org`), for metric labels and
 * the access log: never the path itself, so label cardinality is bounded by the code, not by clients.
 *
 * Read from express's own routing, so routes added anywhere (routers under routers) are templated with no
 * list to keep up to date: the app's router stack is walked once (again if a route appears that was not
 * there) into Route object → full template (mount paths + route path). A request answered by a route is
 * labelled with that route's template (`req.route`, which express leaves on the request); one answered by a
 * middleware mounted at a path, with no route (`app.use('/graphql', apollo)`, a router-level auth check),
 * with its mount path, recognised from `req.baseUrl` (still the mount's while the response is written from
 * inside it); everything else — the 404 handler, an error that left its router before any route matched —
 * is `<unmatched>`.
 */
export class RouteTemplates {
  private routes = new WeakMap<object, string>();
  private mounts = new Map<string, string>();
  private paramMounts: Array<{ pattern: RegExp; template: string }> = [];
  private built = false;

  constructor(private readonly app: Application) {}

  private build(): void {
    this.routes = new WeakMap();
    this.mounts = new Map();
    this.paramMounts = [];
    const walk = (stack: LayerLike[], prefix: string) => {
      for (const layer of stack) {
        const path = pathText(layer.rawPath ?? '/');
        if (layer.route) {
          this.routes.set(layer.route, joinPath(prefix, pathText(layer.route.path)));
          continue;
        }
        const mount = joinPath(prefix, path);
        if (mount !== '/' && path !== '/') {
          if (/[:*]/.test(mount)) {
            const pattern = mountPattern(mount);
            if (pattern) this.paramMounts.push({ pattern, template: mount });
          } else {
            this.mounts.set(mount.toLowerCase(), mount);
          }
        }
        const inner = layer.handle?.stack;
        if (Array.isArray(inner)) walk(inner as LayerLike[], mount === '/' ? '' : mount);
      }
    };
    const router = (this.app as unknown as { router?: { stack?: LayerLike[] } }).router;
    walk(router?.stack ?? [], '');
    this.built = true;
  }

  of(req: Request): string {
    if (!this.built) this.build();
    const route = req.route as object | undefined;
    if (route) {
      let template = this.routes.get(route);
      if (template === undefined) {
        this.build(); // a route added after the last walk
        template = this.routes.get(route);
        if (template === undefined) this.routes.set(route, (template = UNMATCHED_ROUTE)); // not in the app's tree
      }
      return template;
    }
    const base = req.baseUrl;
    if (!base) return UNMATCHED_ROUTE;
    const mount = this.mounts.get(base.toLowerCase());
    if (mount) return mount;
    for (const { pattern, template } of this.paramMounts) if (pattern.test(base)) return template;
    return UNMATCHED_ROUTE;
  }
}

export interface RequestObserverOptions {
  app: Application;
  metrics: Metrics;
  log: Logger;
  /** ACCESS_LOG: one JSON line per request. */
  accessLog: boolean;
}

/**
 * Watches one request to its end — answered, or closed by the client before its answer was written — and
 * then counts it (route template, method, status) and writes its access-log line. Everything is read once,
 * when the response ends; nothing is added to the request path but one `close` listener.
 */
export function requestObserver(options: RequestObserverOptions) {
  const routes = new RouteTemplates(options.app);
  const { metrics } = options;
  // The line holds ids, names and figures only (never a header, a body or a credential), so the logger's
  // redaction paths have nothing to find in it; pino applies a wildcard path (`*.token`) to every top-level
  // value of every line, ~11 µs of a ~17 µs line (measured, issue 11): the access log goes through a child
  // logger without redaction (pino's child option `redact`), same stream, level and base fields.
  const log = options.log.child({}, { redact: [] });
  return (req: Request, res: Response, requestId: string, facts: RequestFacts): void => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routes.of(req);
      const method = methodLabel(req.method);
      // `close` without `finish`: the client left before the whole answer was written (nginx logs 499).
      const aborted = !res.writableFinished;
      const status = aborted ? 'aborted' : String(res.statusCode);
      metrics.httpRequests.inc({ route, method, status });
      metrics.httpDuration.observe(
        { route, method, status_class: aborted ? 'aborted' : `${Math.floor(res.statusCode / 100)}xx` },
        seconds,
      );
      if (!options.accessLog) return;
      const traceparent = res.getHeader('traceparent');
      const length = res.getHeader('content-length');
      const operationName = facts.operation?.name;
      log.info(
        {
          requestId,
          // W3C trace context of the response (set by tracing when it is on): `00-<trace id>-<span id>-<flags>`.
          traceId: (typeof traceparent === 'string' && TRACEPARENT.exec(traceparent)?.[1]) || null,
          method: req.method,
          route,
          status: res.headersSent ? res.statusCode : null,
          aborted,
          durationMs: Math.round(seconds * 1e5) / 100,
          orgId: facts.orgId ?? null,
          principalKind: facts.principal?.kind ?? null,
          principalId: facts.principal?.id ?? null,
          operationType: facts.operation?.type ?? null,
          operationName: operationName ? operationName.slice(0, MAX_OPERATION_NAME_LENGTH) : null,
          sqlStatements: facts.scope ? facts.scope.statements : null,
          bytesOut: !aborted && length !== undefined && req.method !== 'HEAD' ? Number(length) : null,
        },
        'request',
      );
    });
  };
}
