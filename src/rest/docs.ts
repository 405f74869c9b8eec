import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { CSS, JS, lazyAssets, pageCsp, projectRoot, serveAssets, type AssetSource } from '../static-assets';

/**
 * The browsable API reference at /api/v1/docs: Swagger UI (npm `swagger-ui-dist`, its prebuilt
 * `swagger-ui-bundle.js` and `swagger-ui.css` served as they are from node_modules) on the OpenAPI document
 * at /api/v1/openapi.json. Everything comes from the gateway (works offline), under a Content-Security-Policy
 * of 'self' only: no inline script or style, no eval, no other origin (Swagger UI's validator badge, its one
 * outside request, is switched off in page.js).
 *
 * Why Swagger UI and not Scalar: Swagger UI 5 renders OpenAPI 3.1 from one UMD bundle with no build step and
 * runs under `style-src 'self'` (React sets styles through the CSSOM, which CSP does not restrict), while
 * Scalar's standalone bundle injects <style> elements (it would need a nonce plumbed into it) and loads its
 * fonts from its CDN unless configured otherwise. The same content-hashed asset scheme as /graphiql
 * (src/graphql/graphiql.ts): immutable for a year, gzipped once on first use; the page is revalidated.
 */
function files(): AssetSource[] {
  const swagger = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const own = path.join(projectRoot(), 'src', 'rest', 'docs');
  const js = JS;
  const css = CSS;
  return [
    { name: 'swagger-ui.css', type: css, file: path.join(swagger, 'swagger-ui.css') },
    { name: 'page.css', type: css, file: path.join(own, 'page.css') },
    { name: 'swagger-ui-bundle.js', type: js, file: path.join(swagger, 'swagger-ui-bundle.js') },
    { name: 'page.js', type: js, file: path.join(own, 'page.js') },
  ];
}

export const DOCS_CSP = pageCsp();

/** Mounted at /api/v1/docs: the page, and its assets at /api/v1/docs/assets/<hash>/<name>. */
export function apiDocsRouter(options: { prefix: string }): Router {
  const ready = lazyAssets(
    files(),
    `${options.prefix}/docs`,
    (file) => `API docs: ${file} is missing: run npm install`,
    (assets) => {
      const url = (name: string) => assets.get(name)!.url;
      return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>manifest-gateway · REST API reference</title>
  <link rel="stylesheet" href="${url('swagger-ui.css')}" />
  <link rel="stylesheet" href="${url('page.css')}" />
</head>
<body>
  <header class="api-docs">manifest-gateway REST API · OpenAPI document: <a href="${options.prefix}/openapi.json">${options.prefix}/openapi.json</a></header>
  <div id="swagger-ui" data-spec="${options.prefix}/openapi.json">Loading the API reference…</div>
  <script src="${url('swagger-ui-bundle.js')}"></script>
  <script src="${url('page.js')}"></script>
</body>
</html>
`;
    },
  );

  const router = express.Router({ strict: false });
  router.get('/', (_req: Request, res: Response) => {
    res.set({
      'content-security-policy': DOCS_CSP,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.type('html').send(ready().page);
  });
  serveAssets(router, ready);
  return router;
}
