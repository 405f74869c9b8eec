import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './support/gateway';
import { ok } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * What the request path was trimmed of (bench/README.md "Per-request overhead") without changing behaviour.
 *
 * stdout is buffered (src/logger.ts, README "Log buffering"): lines go out in batches, and whatever is still
 * buffered when the process ends is written by the `exit` handler. Each case writes more lines than one batch
 * holds right before the process ends, so a missing exit flush loses the last partial batch (the test fails).
 */
const LINES = 2000;

function runLogger(ending: string): Promise<{ code: number | null; signal: string | null; lines: string[] }> {
  const script = `
    const { createLogger } = require(${JSON.stringify(path.join(ROOT, 'dist/src/logger.js'))});
    const log = createLogger({ logLevel: 'info' });
    process.on('SIGTERM', () => { log.info({ n: 'after-signal' }, 'line'); process.exit(0); });
    for (let n = 0; n < ${LINES}; n++) log.info({ n }, 'line');
    ${ending}
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, lines: out.split('\n').filter(Boolean) }));
  });
}

describe('buffered stdout keeps every line', () => {
  test('process.exit() right after the last line', async () => {
    const { code, lines } = await runLogger('process.exit(3);');
    expect(code).toBe(3);
    expect(lines).toHaveLength(LINES);
    expect(JSON.parse(lines[LINES - 1]).n).toBe(LINES - 1);
  });

  test('an uncaught exception (a fatal exit)', async () => {
    const { code, lines } = await runLogger(`throw new Error('boom');`);
    expect(code).toBe(1);
    expect(lines).toHaveLength(LINES);
  });

  test('the event loop running out', async () => {
    const { code, lines } = await runLogger('');
    expect(code).toBe(0);
    expect(lines).toHaveLength(LINES);
  });

  test('SIGTERM handled with process.exit, as the gateway does: the lines before and the one in the handler', async () => {
    const { code, lines } = await runLogger(`process.kill(process.pid, 'SIGTERM'); setInterval(() => {}, 1000);`);
    expect(code).toBe(0);
    expect(lines).toHaveLength(LINES + 1);
    expect(JSON.parse(lines[LINES]).n).toBe('after-signal');
  });

  test('lines are written without waiting for the process to end (within the linger time)', async () => {
    const { lines } = await runLogger(`setTimeout(() => { throw new Error('never flushed'); }, 60000).unref();
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), 500);`);
    // SIGKILL runs no exit handler: everything seen was written by the batches themselves.
    expect(lines).toHaveLength(LINES);
  });

  test('a warning or an error goes out at once, with the info lines buffered before it', async () => {
    // SIGKILL 5 ms after the warning, well inside the 25 ms linger: only an immediate write shows the lines.
    const script = `
      const { createLogger } = require(${JSON.stringify(path.join(ROOT, 'dist/src/logger.js'))});
      const log = createLogger({ logLevel: 'info' });
      log.info({ n: 'info-before' }, 'line');
      log.warn({ n: 'the-warning' }, 'line');
      log.info({ n: 'info-after' }, 'line');
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), 5);
      setInterval(() => {}, 1000);
    `;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.once('error', reject);
      child.once('close', () => resolve(text));
    });
    const seen = out
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line).n);
    expect(seen).toEqual(['info-before', 'the-warning']);
  });
});

describe('the gateway', () => {
  const { gw, org, tokenFor } = useGateway({ orgs: ['logging'] });

  test('a GraphQL answer has a Content-Length and no ETag; the JWKS keeps a strong ETag and answers 304 to it', async () => {
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(org)}` },
      body: JSON.stringify({ query: '{ organization { id } }' }),
    });
    const body = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBeNull();
    expect(response.headers.get('transfer-encoding')).toBeNull();
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(body));

    const jwks = await fetch(`${gw.url}/.well-known/jwks.json`);
    const etag = jwks.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(jwks.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await jwks.json()) as { keys: unknown[] }).keys).toHaveLength(1);
    // (fetch() adds `cache-control: no-cache` to a conditional request unless told otherwise: send what a cache sends.)
    const again = await fetch(`${gw.url}/.well-known/jwks.json`, {
      headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' },
    });
    expect(again.status).toBe(304);
    expect(again.headers.get('cache-control')).toBe('public, max-age=300');
  });

  test('every GraphQL error carries the request id: raised before Apollo runs a plugin, in the pipeline, beside data', async () => {
    const post = async (body: unknown, headers: Record<string, string> = {}, method = 'POST', search = '') => {
      const response = await fetch(`${gw.url}/graphql${search}`, {
        method,
        headers: {
          'content-type': 'application/json',
          'x-request-id': `rp-${Math.random().toString(36).slice(2)}`,
          ...headers,
        },
        ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
      });
      return {
        status: response.status,
        id: response.headers.get('x-request-id'),
        body: (await response.json()) as any,
      };
    };
    const cases = [
      // the context function refuses the token (Apollo's errorResponse, no plugin ran)
      await post({ query: '{ organization { id } }' }, { authorization: 'Bearer not-a-token' }),
      // Apollo's own HTTP checks (a mutation over GET), after the context, before the pipeline
      await post(
        undefined,
        { authorization: `Bearer ${tokenFor(org)}` },
        'GET',
        `?query=${encodeURIComponent('mutation { __typename }')}`,
      ),
      // validation, in the pipeline
      await post({ query: '{ nope }' }, { authorization: `Bearer ${tokenFor(org)}` }),
      // a resolver's refusal beside data (200)
      await post(
        { query: '{ organization { id } workspace(id: "V29ya3NwYWNlOm5vbmU") { id } }' },
        {
          authorization: `Bearer ${tokenFor(org)}`,
        },
      ),
    ];
    for (const { status, id, body } of cases) {
      expect(status).toBeGreaterThanOrEqual(200);
      expect(body.errors.length).toBeGreaterThan(0);
      for (const error of body.errors) expect(error.extensions.requestId).toBe(id);
    }
    expect(cases.map((c) => c.status)).toEqual([401, 405, 400, 200]);
    expect(cases[3].body.data.organization.id).toEqual(expect.any(String));
    // An answer without errors is Apollo's, untouched.
    const fine = await post({ query: '{ organization { id } }' }, { authorization: `Bearer ${tokenFor(org)}` });
    expect(fine.body.errors).toBeUndefined();
    expect(fine.body.data.organization.id).toEqual(expect.any(String));
  });

  test('the access-log line of a request answered just before SIGTERM is in the output', async () => {
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(org)}` },
      body: JSON.stringify({ query: '{ organization { id } }' }),
    });
    ok({ body: (await response.json()) as { data?: unknown; errors?: unknown[] } });
    const requestId = response.headers.get('x-request-id')!;
    expect(await gw.stop('SIGTERM')).toBe(0);
    // The child's 'exit' can come before its last output is read: wait for the final line.
    for (const deadline = Date.now() + 5000; !gw.logs.some((l) => l.includes('"msg":"stopped"'));) {
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const lines = gw.logs.filter((line) => line.includes('"msg":"request"') && line.includes(requestId));
    expect(lines).toHaveLength(1);
    expect(gw.logs.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
  });
});
