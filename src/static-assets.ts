import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Request, Response, Router } from 'express';

/**
 * The browser pages' files (GraphiQL at /graphiql, the REST reference at /api/v1/docs), served by the gateway
 * itself: npm packages' prebuilt files and the page's own script and stylesheet, under content-hashed URLs
 * (`<base>/assets/<hash>/<name>`), so they are cached for a year and `immutable` while the page itself is
 * revalidated. Files are read, hashed and gzipped once, on the first request (start-up only checks they exist).
 */
export interface AssetSource {
  /** The name in the URL. */
  name: string;
  type: string;
  file: string;
}

export interface Asset {
  url: string;
  type: string;
  hash: string;
  body: Buffer;
  gzip: Buffer;
}

/**
 * The content security policy of both browser pages (GraphiQL, the REST reference): everything from the
 * gateway itself, nothing inline but what `styleSrc` adds (GraphiQL's per-response style nonce), no framing,
 * no forms, no base URL.
 */
export function pageCsp(styleSrc = "'self'"): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src ${styleSrc}`,
    "font-src 'self' data:",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const JS = 'text/javascript; charset=utf-8';
export const CSS = 'text/css; charset=utf-8';

/** The project root: the first directory upwards with a package.json (works from src/ and from dist/src/). */
export function projectRoot(dir = __dirname): string {
  if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  const parent = path.dirname(dir);
  if (parent === dir) throw new Error('no package.json above ' + __dirname);
  return projectRoot(parent);
}

/**
 * The files of one page, loaded on first use. `missing(file)`: the start-up error when a file is absent (a
 * partial install), naming it. `page(assets)`: the page's HTML, built once from the assets' URLs.
 */
export function lazyAssets(
  list: AssetSource[],
  base: string,
  missing: (file: string) => string,
  page: (assets: Map<string, Asset>) => string,
): () => { assets: Map<string, Asset>; page: string } {
  for (const source of list) if (!fs.existsSync(source.file)) throw new Error(missing(source.file));
  let loaded: { assets: Map<string, Asset>; page: string } | undefined;
  return () => {
    if (!loaded) {
      const assets = new Map<string, Asset>();
      for (const source of list) {
        const body = fs.readFileSync(source.file);
        const hash = crypto.createHash('sha256').update(body).digest('hex').slice(0, 16);
        assets.set(source.name, {
          url: `${base}/assets/${hash}/${source.name}`,
          type: source.type,
          hash,
          body,
          gzip: zlib.gzipSync(body, { level: 9 }),
        });
      }
      loaded = { assets, page: page(assets) };
    }
    return loaded;
  };
}

/** GET assets/<hash>/<name> on the page's router; an unknown name or a stale hash falls through (the 404). */
export function serveAssets(router: Router, ready: () => { assets: Map<string, Asset> }): void {
  router.get('/assets/:hash/:name', (req: Request, res: Response, next) => {
    const asset = ready().assets.get(String(req.params.name));
    if (!asset || asset.hash !== req.params.hash) return next();
    const gzip = req.acceptsEncodings('gzip', 'identity') === 'gzip';
    res.set({
      'content-type': asset.type,
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      etag: `"${asset.hash}${gzip ? '-gz' : ''}"`,
      vary: 'Accept-Encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    // res.send answers 304 itself when If-None-Match matches the ETag set above.
    res.send(gzip ? asset.gzip : asset.body);
  });
}
