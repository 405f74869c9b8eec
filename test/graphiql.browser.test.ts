import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from './support/database';
import { startGateway, type RunningGateway } from './support/gateway';
import { createOrg, createTree, ok, type Org } from './support/fixtures';

/**
 * GraphiQL in a real browser with the network cut: Debian's chromium driven by playwright-core, every
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

describeWithBrowser('GraphiQL in headless chromium, offline', () => {
  let db: TestDatabase;
  let gw: RunningGateway;
  let org: Org;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let apiKey: string;
  const external: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    [gw, browser] = await Promise.all([
      startGateway({ databaseUrl: db.url }),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      }),
    ]);
    org = await createOrg(db, 'giql');
    const owner = gw.token(org.id);
    await createTree(gw, owner, { workspaces: 1, environments: 1, components: 1 });
    apiKey = ok<any>(
      await gw.graphql(`mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }`, { i: { name: 'graphiql', scopes: ['org:read', 'workspaces:read', 'components:read'] } }, owner),
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
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console.${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await db?.drop();
  });

  /** The result pane's text (CodeMirror 5 keeps its editor on the wrapper element). */
  const resultText = () => page.evaluate(() => ((globalThis as any).document.querySelector('.result-window .CodeMirror') as any)?.CodeMirror?.getValue() ?? '');

  test('the page loads from the gateway alone and the docs explorer shows Organization without a token', async () => {
    await page.goto(`${gw.url}/graphiql`);
    await page.locator('.graphiql-container').waitFor();
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByRole('link', { name: 'Organization', exact: true }).first().click();
    await expectText(docs.locator('.graphiql-doc-explorer-title'), 'Organization');
    if (process.env.GRAPHIQL_SCREENSHOT) await page.screenshot({ path: process.env.GRAPHIQL_SCREENSHOT.replace(/\.png$/, '-docs.png') });
    expect(await page.locator('#credential-status').textContent()).toMatch(/No credential/);
  });

  test('an API key pasted into the credential bar is exchanged and the default query shows the database', async () => {
    await page.locator('#credential').fill(apiKey);
    await page.getByRole('button', { name: 'Use' }).click();
    await expectText(page.locator('#credential-status.ok'), 'Using a bearer token');
    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(() => (((globalThis as any).document.querySelector('.result-window .CodeMirror') as any)?.CodeMirror?.getValue() ?? '').includes('"data"'));
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
    const storage = await page.evaluate(() => ({ session: JSON.stringify({ ...(globalThis as any).sessionStorage }), local: JSON.stringify({ ...(globalThis as any).localStorage }) }));
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
    await page.waitForFunction(() => ((globalThis as any).localStorage.getItem('graphiql:tabState') ?? '').includes('"operationName":"Slug"'));
    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction((slug) => (((globalThis as any).document.querySelector('.result-window .CodeMirror') as any)?.CodeMirror?.getValue() ?? '').includes(slug), org.slug);
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
    await page.getByRole('option', { name: /^Workspace\b/ }).first().waitFor();
    await page.keyboard.press('Escape');
  });

  test('no request left the loopback interface, and nothing broke the Content-Security-Policy', () => {
    expect(external).toEqual([]);
    // The refused key's 4xx from /auth/token is the one expected console error.
    const unexpected = problems.filter((p) => !/status of 4\d\d/.test(p));
    expect(unexpected).toEqual([]);
  });
});

async function expectText(locator: import('playwright-core').Locator, text: string): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: 15000 });
}

async function setQuery(page: Page, query: string): Promise<void> {
  await page.evaluate((q) => ((globalThis as any).document.querySelector('.graphiql-query-editor .CodeMirror') as any).CodeMirror.setValue(q), query);
}
