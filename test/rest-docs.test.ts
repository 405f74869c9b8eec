import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { useGateway } from './support/harness';

/**
 * The REST API reference at /api/v1/docs: over HTTP (strict CSP, assets from the gateway), then in headless
 * chromium with every non-loopback request aborted and recorded (as test/graphiql.test.ts does): the page
 * renders the generated OpenAPI document, with no outside request and no CSP violation.
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
if (!haveChromium && process.env.CI === 'true') {
  test('chromium is installed (required when CI=true)', () => {
    throw new Error(`${CHROMIUM} is missing: the API reference browser test cannot run (apt-get install -y chromium)`);
  });
} else if (!haveChromium) {
  process.stderr.write(
    `\n!! SKIPPING the API reference browser test: ${CHROMIUM} is missing (apt-get install -y chromium)\n\n`,
  );
}

const { gw } = useGateway();

test('the page: strict CSP, no inline script, every asset from the gateway and content-hashed', async () => {
  const page = await fetch(`${gw.url}/api/v1/docs`);
  expect(page.status).toBe(200);
  const csp = page.headers.get('content-security-policy')!;
  expect(csp).toMatch(/default-src 'none'/);
  expect(csp).toMatch(/script-src 'self'(;|$)/);
  expect(csp).toMatch(/style-src 'self'(;|$)/);
  expect(csp).not.toMatch(/unsafe/);
  const html = await page.text();
  expect(html).not.toMatch(/<script(?![^>]*\ssrc=)/);
  expect(html).not.toMatch(/<style/);
  expect(html).not.toMatch(/https?:\/\//);
  const urls = [...html.matchAll(/(?:src|href)="(\/api\/v1\/docs\/[^"]+)"/g)].map((m) => m[1]);
  expect(urls.map((u) => u.replace(/\/[0-9a-f]{16}\//, '/<hash>/'))).toEqual([
    '/api/v1/docs/assets/<hash>/swagger-ui.css',
    '/api/v1/docs/assets/<hash>/page.css',
    '/api/v1/docs/assets/<hash>/swagger-ui-bundle.js',
    '/api/v1/docs/assets/<hash>/page.js',
  ]);
  for (const url of urls) {
    const asset = await fetch(`${gw.url}${url}`);
    expect([url, asset.status, asset.headers.get('cache-control')]).toEqual([
      url,
      200,
      'public, max-age=31536000, immutable',
    ]);
  }
  const stale = await fetch(`${gw.url}${urls[2].replace(/[0-9a-f]{16}/, '0'.repeat(16))}`);
  expect(stale.status).toBe(404);
  expect(stale.headers.get('content-type')).toMatch(/^application\/problem\+json/);
});

(haveChromium ? describe : describe.skip)('in headless chromium, offline', () => {
  let browser: Browser;
  let page: Page;
  const external: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (LOOPBACK.has(url.hostname)) return route.continue();
      external.push(url.href);
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  });

  afterAll(async () => {
    await browser?.close();
  });

  test('renders the generated document: the title, the bearer scheme, the documented paths', async () => {
    await page.goto(`${gw.url}/api/v1/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();
    expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('manifest-gateway REST API');
    await page
      .locator('.opblock-summary-path', { hasText: '/api/v1/orgs/{org_id}/workspaces/{workspace_id}/hosted-services' })
      .first()
      .waitFor();
    await page.locator('.opblock-summary-path', { hasText: '/auth/token' }).first().waitFor();
    await page.locator('button.authorize').waitFor();
    if (process.env.API_DOCS_SCREENSHOT) await page.screenshot({ path: process.env.API_DOCS_SCREENSHOT });
    expect(external).toEqual([]);
    expect(problems).toEqual([]);
  });
});
