import crypto from 'node:crypto';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { CSS, JS, lazyAssets, pageCsp, projectRoot, serveAssets, type Asset, type AssetSource } from '../static-assets';

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
 * Asset URLs carry a content hash (/graphiql/assets/<hash>/<name>, src/static-assets.ts), so they are cached
 * for a year and `immutable`; the page itself is revalidated each time (`no-cache`).
 */

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

function sources(): AssetSource[] {
  const own = path.join(projectRoot(), 'src', 'graphql', 'graphiql');
  const js = JS;
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
      type: CSS,
      file: path.join(packageDir('graphiql'), 'graphiql.min.css'),
    },
    { name: 'page.js', type: js, file: path.join(own, 'page.js') },
    { name: 'page.css', type: CSS, file: path.join(own, 'page.css') },
  ];
}

/**
 * The page's policy: scripts, styles, fonts and requests from this origin only; no inline script, no eval.
 * One exception, by nonce: GraphiQL's dialogs lock page scrolling by inserting a <style> element
 * (react-remove-scroll-bar, via react-style-singleton), whose text depends on the scrollbar width, so no
 * fixed hash fits; react-style-singleton stamps it with the global `__webpack_nonce__`, which page.js sets
 * from the page's per-response nonce. Fonts and icons are data: URLs inside graphiql.min.css.
 */
export function graphiqlCsp(nonce: string): string {
  return pageCsp(`'self' 'nonce-${nonce}'`);
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
  const ready = lazyAssets(
    sources(),
    '/graphiql',
    (file) => `GraphiQL is on but ${file} is missing: run npm install (or set GRAPHIQL=off)`,
    (assets) => graphiqlPage(assets, options.endpoint, options.tokenEndpoint),
  );

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
  serveAssets(router, ready); // unknown or stale asset URLs fall through to the JSON 404
  return router;
}
