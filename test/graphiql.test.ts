import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ROOT, startGateway } from './support/gateway';
import { createTree, ok } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * GraphiQL at /graphiql, served by the gateway alone. Over HTTP: the page, its Content-Security-Policy, the
 * content-hashed assets from node_modules, GRAPHIQL on/off. Then in a real browser with the network cut: Debian's chromium driven by playwright-core, every
 * request to a host other than the gateway's loopback address aborted (and recorded, so the test fails if
 * one was even attempted). The page must load, fill its docs explorer anonymously, take an API key through
 * its credential bar and show the organization's data.
 *
 * Without /usr/bin/chromium (CHROMIUM_PATH overrides) the browser tests fail when CI=true and are skipped
 * with a loud message otherwise (`apt-get install -y chromium`; `.ci/run` installs it).
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

if (!haveChromium) {
  if (process.env.CI === 'true') {
    test('chromium is installed (required when CI=true)', () => {
      throw new Error(`${CHROMIUM} is missing: the GraphiQL browser tests cannot run (apt-get install -y chromium)`);
    });
  } else {
    process.stderr.write(
      `\n${'!'.repeat(100)}\n!! SKIPPING the GraphiQL browser tests: ${CHROMIUM} is missing. Install it: apt-get install -y chromium\n${'!'.repeat(100)}\n\n`,
    );
  }
}

const describeWithBrowser = haveChromium ? describe : describe.skip;

const { gw, db, org } = useGateway({ orgs: ['giql'] });

describe('GraphiQL over HTTP', () => {
  test('a page with a strict CSP whose assets all come from the gateway, cached by content hash', async () => {
    const page = await fetch(`${gw.url}/graphiql`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe/); // no 'unsafe-inline', no 'unsafe-eval'
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)![1];
    const html = await page.text();
    expect(html).toContain(`data-style-nonce="${nonce}"`);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)/); // no inline script
    expect(html).not.toMatch(/https?:\/\//); // nothing from another origin
    expect(html).not.toMatch(/authorization/i); // no placeholder header
    const again = await fetch(`${gw.url}/graphiql/`);
    expect(again.headers.get('content-security-policy')).not.toContain(nonce); // a nonce per response

    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls.map((u) => u.replace(/\/[0-9a-f]{16}\//, '/<hash>/'))).toEqual([
      '/graphiql/assets/<hash>/graphiql.min.css',
      '/graphiql/assets/<hash>/page.css',
      '/graphiql/assets/<hash>/react.production.min.js',
      '/graphiql/assets/<hash>/react-dom.production.min.js',
      '/graphiql/assets/<hash>/graphiql.min.js',
      '/graphiql/assets/<hash>/page.js',
    ]);
    for (const url of urls) {
      const plain = await fetch(`${gw.url}${url}`, { headers: { 'accept-encoding': 'identity' } });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(plain.headers.get('content-type')).toMatch(url.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      const body = Buffer.from(await plain.arrayBuffer());
      expect(crypto.createHash('sha256').update(body).digest('hex').slice(0, 16)).toBe(url.split('/')[3]);
      // A browser's revalidation. (fetch() would add `cache-control: no-cache` to a conditional request,
      // which asks for a full response, so send what a browser sends.)
      const revalidated = await fetch(`${gw.url}${url}`, {
        headers: {
          'accept-encoding': 'identity',
          'if-none-match': plain.headers.get('etag')!,
          'cache-control': 'max-age=0',
        },
      });
      expect(revalidated.status).toBe(304);
    }
    // The very bytes of the npm package's file, gzipped for browsers that take it (fetch decompresses).
    const graphiqlJs = urls.find((u) => u.endsWith('/graphiql.min.js'))!;
    const gz = await fetch(`${gw.url}${graphiqlJs}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(
      Buffer.from(await gz.arrayBuffer()).equals(
        fs.readFileSync(path.join(ROOT, 'node_modules/graphiql/graphiql.min.js')),
      ),
    ).toBe(true);
    // A stale hash, an unknown name and other paths under /graphiql are the gateway's JSON 404.
    for (const url of [
      graphiqlJs.replace(/[0-9a-f]{16}/, '0'.repeat(16)),
      '/graphiql/assets/x/package.json',
      '/graphiql/nope',
    ]) {
      const missing = await fetch(`${gw.url}${url}`);
      expect([url, missing.status]).toEqual([url, 404]);
      expect(await missing.json()).toMatchObject({ error: 'not_found' });
    }
  });

  test('GRAPHIQL: on outside production, off in production unless GRAPHIQL=on; a bad value stops the start, naming it', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { loadConfig } = require('../dist/src/config.js');
    const production = {
      NODE_ENV: 'production',
      JWT_PRIVATE_KEY: 'x',
      ENCRYPTION_KEYS: JSON.stringify({ '1': crypto.randomBytes(32).toString('base64') }),
    };
    expect(loadConfig({}).graphiql).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).graphiql).toBe(true);
    expect(loadConfig({ GRAPHIQL: 'off' }).graphiql).toBe(false);
    expect(loadConfig(production).graphiql).toBe(false);
    expect(loadConfig({ ...production, GRAPHIQL: 'on' }).graphiql).toBe(true);
    expect(loadConfig({ ...production, GRAPHIQL: 'TRUE' }).graphiql).toBe(true);
    expect(() => loadConfig({ GRAPHIQL: 'maybe' })).toThrow('GRAPHIQL must be on or off, got "maybe"');

    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
      env: { ...process.env, DATABASE_URL: db.url, GRAPHIQL: 'maybe' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect({ code, stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(/GRAPHIQL must be on or off/) });
  });

  test('in production /graphiql and its assets are the JSON 404', async () => {
    const html = await (await fetch(`${gw.url}/graphiql`)).text();
    const asset = /src="([^"]+\/page\.js)"/.exec(html)![1];
    const prod = await startGateway({
      databaseUrl: db.url,
      env: {
        NODE_ENV: 'production',
        EXPOSE_SQL_STATEMENT_COUNT: 'false',
        ENCRYPTION_KEYS: JSON.stringify({ '1': crypto.randomBytes(32).toString('base64') }),
      },
    });
    try {
      for (const url of ['/graphiql', '/graphiql/', asset]) {
        const response = await fetch(`${prod.url}${url}`);
        expect([url, response.status]).toEqual([url, 404]);
        expect(await response.json()).toMatchObject({ error: 'not_found' });
      }
    } finally {
      await prod.stop();
    }
  });
});

describeWithBrowser('GraphiQL in headless chromium, offline', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let apiKey: string;
  const external: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const owner = gw.token(org.id);
    await createTree(gw, owner, { workspaces: 1, environments: 1, components: 1 });
    apiKey = ok<any>(
      await gw.graphql(
        `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }`,
        { i: { name: 'graphiql', scopes: ['org:read', 'workspaces:read', 'components:read'] } },
        owner,
      ),
    ).createApiKey.key;

    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (LOOPBACK.has(url.hostname)) return route.continue();
      external.push(url.href);
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
    page.on('websocket', (ws) => external.push(ws.url()));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`console.${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) =>
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`),
    );
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** The result pane's text (CodeMirror 5 keeps its editor on the wrapper element). */
  const resultText = () =>
    page.evaluate(
      () =>
        ((globalThis as any).document.querySelector('.result-window .CodeMirror') as any)?.CodeMirror?.getValue() ?? '',
    );

  test('the page loads from the gateway alone and the docs explorer shows Organization without a token', async () => {
    await page.goto(`${gw.url}/graphiql`);
    await page.locator('.graphiql-container').waitFor();
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByRole('link', { name: 'Organization', exact: true }).first().click();
    await expectText(docs.locator('.graphiql-doc-explorer-title'), 'Organization');
    if (process.env.GRAPHIQL_SCREENSHOT)
      await page.screenshot({ path: process.env.GRAPHIQL_SCREENSHOT.replace(/\.png$/, '-docs.png') });
    expect(await page.locator('#credential-status').textContent()).toMatch(/No credential/);
  });

  test('an API key pasted into the credential bar is exchanged and the default query shows the database', async () => {
    await page.locator('#credential').fill(apiKey);
    await page.getByRole('button', { name: 'Use' }).click();
    await expectText(page.locator('#credential-status.ok'), 'Using a bearer token');
    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(() =>
      (
        ((globalThis as any).document.querySelector('.result-window .CodeMirror') as any)?.CodeMirror?.getValue() ?? ''
      ).includes('"data"'),
    );
    const result = JSON.parse(await resultText());
    expect(result.errors).toBeUndefined();
    expect(result.data.organization).toMatchObject({
      name: `Org ${org.slug}`,
      slug: org.slug,
      workspaces: { totalCount: 1, edges: [{ node: { name: 'Workspace 0' } }] },
    });
    const workspace = result.data.organization.workspaces.edges[0].node;
    expect(workspace.environments.edges.map((e: any) => e.node.name)).toEqual(['Env 0']);
    expect(workspace.components.edges.map((e: any) => e.node.name)).toEqual(['Component 0']);
    if (process.env.GRAPHIQL_SCREENSHOT) await page.screenshot({ path: process.env.GRAPHIQL_SCREENSHOT });

    // Only the exchanged token is kept, and only in sessionStorage; the API key is stored nowhere.
    const storage = await page.evaluate(() => ({
      session: JSON.stringify({ ...(globalThis as any).sessionStorage }),
      local: JSON.stringify({ ...(globalThis as any).localStorage }),
    }));
    expect(storage.session).toMatch(/eyJ/);
    expect(storage.session + storage.local).not.toContain(apiKey);
    expect(storage.local).not.toMatch(/eyJ/);
  });

  test('a refused API key says so and keeps the page anonymous', async () => {
    await page.getByRole('button', { name: 'Forget' }).click();
    await page.locator('#credential').fill('fl_notakey_0000');
    await page.getByRole('button', { name: 'Use' }).click();
    await expectText(page.locator('#credential-status.error'), 'The API key was refused');
  });

  test('a pasted bearer token is used as is', async () => {
    await page.locator('#credential').fill(`Bearer ${gw.token(org.id, ['org:read'])}`);
    await page.getByRole('button', { name: 'Use' }).click();
    await expectText(page.locator('#credential-status.ok'), 'Using a bearer token');
    await setQuery(page, 'query Slug { organization { slug } }');
    // GraphiQL takes the operation name from the editor after a debounce (a fast click would still send
    // "Overview"): wait until its saved tab state has the new one, as a user's pause would.
    await page.waitForFunction(() =>
      ((globalThis as any).localStorage.getItem('graphiql:tabState') ?? '').includes('"operationName":"Slug"'),
    );
    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(
      (slug) =>
        (
          ((globalThis as any).document.querySelector('.result-window .CodeMirror') as any)?.CodeMirror?.getValue() ??
          ''
        ).includes(slug),
      org.slug,
    );
    expect(JSON.parse(await resultText()).data).toEqual({ organization: { slug: org.slug } });
  });

  test('the settings and shortcut dialogs and the docs search work under the policy', async () => {
    await page.getByRole('button', { name: 'Open settings dialog' }).click();
    await page.getByRole('dialog').filter({ hasText: 'Settings' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Open short keys dialog' }).click();
    await page.getByRole('dialog').filter({ hasText: 'Short Keys' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.locator('.graphiql-doc-explorer-search').click();
    await page.keyboard.type('Workspac');
    await page
      .getByRole('option', { name: /^Workspace\b/ })
      .first()
      .waitFor();
    await page.keyboard.press('Escape');
  });

  test('no request left the loopback interface, and nothing broke the Content-Security-Policy', () => {
    expect(external).toEqual([]);
    // The refused key's 4xx from /auth/token is the one expected console error.
    const unexpected = problems.filter((p) => !/status of 4\d\d/.test(p));
    expect(unexpected).toEqual([]);
  });
});

async function expectText(locator: Locator, text: string): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: 15000 });
}

async function setQuery(page: Page, query: string): Promise<void> {
  await page.evaluate(
    (q) =>
      ((globalThis as any).document.querySelector('.graphiql-query-editor .CodeMirror') as any).CodeMirror.setValue(q),
    query,
  );
}
