import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import express, { type Request, type Response, type Router } from 'express';

/**
 * GraphiQL, served entirely by the gateway: it works with no internet (air-gapped clusters, a laptop on a
 * train) and the page's Content-Security-Policy allows nothing but this origin.
 *
 * The assets are the npm packages' own prebuilt UMD files, served as they are from node_modules:
 * graphiql 3.x (`graphiql/graphiql.min.js` + `.min.css`, React and ReactDOM as globals) with the
 * react@18 / react-dom@18 UMD builds. No bundler: graphiql 4 deprecated its UMD build and 5 removed it
 * (5 is ES modules on Monaco: monaco-editor, monaco-graphql, prettier, web workers that need bundling), and
 * React 19 no longer ships UMD builds, so graphiql 3 + React 18 is the combination that needs no build
 * step. The page's own script and stylesheet are the two files in src/graphql/graphiql/, read from the
 * source tree (tsc compiles only .ts; there is nothing to compile in them).
 *
 * Asset URLs carry a content hash (/graphiql/assets/<hash>/<name>), so they are cached for a year and
 * `immutable`; the page itself is revalidated each time (`no-cache`). The files are read, hashed and
 * gzipped once, on the first request to /graphiql (nothing happens at start but checking they exist).
 */

interface AssetSource {
  /** The name in the URL. */
  name: string;
  type: string;
  file: string;
}

interface Asset {
  url: string;
  type: string;
  hash: string;
  body: Buffer;
  gzip: Buffer;
}

/** The directory of an installed package. Its package.json, since `exports` maps hide the UMD files from require.resolve. */
function packageDir(name: string): string {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new Error(
      `GraphiQL is on but the npm package "${name}" is not installed: run npm install (or set GRAPHIQL=off)`,
    );
  }
}

/** The project root: the first directory upwards with a package.json (works from src/ and from dist/src/). */
function projectRoot(dir: string): string {
  if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  const parent = path.dirname(dir);
  if (parent === dir) throw new Error('GraphiQL: no package.json above ' + __dirname);
  return projectRoot(parent);
}

function sources(): AssetSource[] {
  const own = path.join(projectRoot(__dirname), 'src', 'graphql', 'graphiql');
  const js = 'text/javascript; charset=utf-8';
  return [
    {
      name: 'react.production.min.js',
      type: js,
      file: path.join(packageDir('react'), 'umd', 'react.production.min.js'),
    },
    {
      name: 'react-dom.production.min.js',
      type: js,
      file: path.join(packageDir('react-dom'), 'umd', 'react-dom.production.min.js'),
    },
    { name: 'graphiql.min.js', type: js, file: path.join(packageDir('graphiql'), 'graphiql.min.js') },
    {
      name: 'graphiql.min.css',
      type: 'text/css; charset=utf-8',
      file: path.join(packageDir('graphiql'), 'graphiql.min.css'),
    },
    { name: 'page.js', type: js, file: path.join(own, 'page.js') },
    { name: 'page.css', type: 'text/css; charset=utf-8', file: path.join(own, 'page.css') },
  ];
}

function load(list: AssetSource[]): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const source of list) {
    const body = fs.readFileSync(source.file);
    const hash = crypto.createHash('sha256').update(body).digest('hex').slice(0, 16);
    assets.set(source.name, {
      url: `/graphiql/assets/${hash}/${source.name}`,
      type: source.type,
      hash,
      body,
      gzip: zlib.gzipSync(body, { level: 9 }),
    });
  }
  return assets;
}

/**
 * The page's policy: scripts, styles, fonts and requests from this origin only; no inline script, no eval.
 * One exception, by nonce: GraphiQL's dialogs lock page scrolling by inserting a <style> element
 * (react-remove-scroll-bar, via react-style-singleton), whose text depends on the scrollbar width, so no
 * fixed hash fits; react-style-singleton stamps it with the global `__webpack_nonce__`, which page.js sets
 * from the page's per-response nonce. Fonts and icons are data: URLs inside graphiql.min.css.
 */
export function graphiqlCsp(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "font-src 'self' data:",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Where each response's nonce goes in the page (base64 never contains it). */
const NONCE = '{{nonce}}';

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function graphiqlPage(assets: Map<string, Asset>, endpoint: string, tokenEndpoint: string): string {
  const url = (name: string) => escapeHtml(assets.get(name)!.url);
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>manifest-gateway · GraphiQL</title>
  <link rel="stylesheet" href="${url('graphiql.min.css')}" />
  <link rel="stylesheet" href="${url('page.css')}" />
</head>
<body>
  <form id="credential-form" autocomplete="off">
    <label for="credential">Bearer token or fl_… API key</label>
    <input id="credential" type="password" spellcheck="false" placeholder="eyJ… (npm run cli -- token --org demo) or fl_…" />
    <button type="submit">Use</button>
    <button type="button" id="credential-forget">Forget</button>
    <span id="credential-status" role="status"></span>
  </form>
  <div id="graphiql" data-endpoint="${escapeHtml(endpoint)}" data-token-endpoint="${escapeHtml(tokenEndpoint)}" data-style-nonce="${NONCE}">Loading GraphiQL…</div>
  <script src="${url('react.production.min.js')}"></script>
  <script src="${url('react-dom.production.min.js')}"></script>
  <script src="${url('graphiql.min.js')}"></script>
  <script src="${url('page.js')}"></script>
</body>
</html>
`;
}

/**
 * GET /graphiql (the page) and GET /graphiql/assets/<hash>/<name>; mount at /graphiql. Anything else
 * under /graphiql falls through to the gateway's JSON 404. Throws at start when an asset is missing
 * (a partial install), naming the file.
 */
export function graphiqlRouter(options: { endpoint: string; tokenEndpoint: string }): Router {
  const list = sources();
  for (const source of list) {
    if (!fs.existsSync(source.file)) {
      throw new Error(`GraphiQL is on but ${source.file} is missing: run npm install (or set GRAPHIQL=off)`);
    }
  }
  let assets: Map<string, Asset> | undefined;
  let page: string | undefined;
  const ready = () => {
    if (!assets) {
      assets = load(list);
      page = graphiqlPage(assets, options.endpoint, options.tokenEndpoint);
    }
    return { assets, page: page! };
  };

  const router = express.Router();
  router.get('/', (_req: Request, res: Response) => {
    const nonce = crypto.randomBytes(16).toString('base64');
    res.set({
      'content-security-policy': graphiqlCsp(nonce),
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.type('html').send(ready().page.replace(NONCE, nonce));
  });
  router.get('/assets/:hash/:name', (req: Request, res: Response, next) => {
    const asset = ready().assets.get(String(req.params.name));
    if (!asset || asset.hash !== req.params.hash) return next(); // the JSON 404
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
  return router;
}
