import net from 'node:net';
import { openGatewayTransactions } from './support/database';
import { cli, startGateway, type RunningGateway } from './support/gateway';
import { gid } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * An adversarial review of the known-document front (src/graphql/known-documents.ts, `knownDocumentFront`):
 * the HTTP server's request listener that reads a plain JSON POST to /graphql itself instead of express +
 * body-parser. Every request here is sent byte for byte over a socket (node:net), to the planned gateway
 * (whose front answers known texts) and to a GRAPHQL_SQL_PLAN=off gateway on the same database and key
 * (express, body-parser and Apollo only): status, headers (but those that differ per request) and body must
 * be the same, never a 500, never a hang, and the gateway still answers afterwards.
 */
const { gw, db, orgA, orgB } = useGateway({
  orgs: ['front-a', 'front-b'],
  env: { GRAPHQL_SQL_PLAN: 'on', JWT_CLOCK_TOLERANCE_SECONDS: '0' },
});
let off: RunningGateway;
let one: RunningGateway;

const POINT = `query FrontPoint($id: ID!) { workspace(id: $id) { id name } }`;
const ids: Record<'a' | 'b', string[]> = { a: [], b: [] };
const tokens: Record<string, string> = {};

beforeAll(async () => {
  off = await startGateway({
    databaseUrl: db.url,
    key: gw.key,
    env: { GRAPHQL_SQL_PLAN: 'off', JWT_CLOCK_TOLERANCE_SECONDS: '0' },
  });
  // One connection: whatever the front's transaction leaves on it, the next request meets.
  one = await startGateway({ databaseUrl: db.url, key: gw.key, env: { GRAPHQL_SQL_PLAN: 'on', DB_POOL_SIZE: '1' } });
  for (const [org, tag] of [
    [orgA, 'a'],
    [orgB, 'b'],
  ] as const) {
    for (let i = 0; i < 2; i++) {
      const { rows } = await db.admin.query(`INSERT INTO workspaces (org_id, name) VALUES ($1, $2) RETURNING id`, [
        org.id,
        `front ${tag} ${i}`,
      ]);
      ids[tag].push(gid('Workspace', rows[0].id));
    }
  }
  tokens.a = gw.token(orgA.id);
  tokens.b = gw.token(orgB.id);
  // Known on the planned gateways (the first request goes through Apollo, the second is the front's: 1 statement).
  for (const target of [gw, one]) {
    for (let i = 0; i < 2; i++) await target.graphql(POINT, { id: ids.a[0] }, tokens.a);
    const again = await target.graphql(POINT, { id: ids.a[0] }, tokens.a);
    expect(again.body.extensions.sql.statements).toBe(1);
  }
}, 120000);

afterAll(async () => {
  await off?.stop();
  await one?.stop();
});

/** A step of a raw exchange: bytes to write, or a pause (ms), or `end` (half-close: no more bytes). */
type Step = string | Buffer | number | 'end';

/** Writes the steps on one socket and returns every byte received until the server closes it (or 'TIMEOUT'). */
function exchange(target: RunningGateway, steps: Step[], timeoutMs = 15000): Promise<string> {
  const { port } = new URL(target.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: Number(port), host: '127.0.0.1' });
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`${Buffer.concat(received).toString('latin1')}TIMEOUT`);
    }, timeoutMs);
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', () => undefined); // a reset after the answer: what was received is what counts
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received).toString('latin1'));
    });
    socket.once('connect', async () => {
      try {
        for (const step of steps) {
          if (socket.destroyed) break;
          if (typeof step === 'number') await new Promise((r) => setTimeout(r, step));
          else if (step === 'end') socket.end();
          else socket.write(typeof step === 'string' ? Buffer.from(step, 'latin1') : step);
        }
      } catch (error) {
        reject(error);
      }
    });
  });
}

const PER_REQUEST = new Set(['date', 'x-request-id', 'traceparent', 'content-length', 'keep-alive']);

interface Parsed {
  status: number;
  /** The header names as written, in order (but the per-request ones): the header block's spelling too. */
  names: string[];
  headers: Record<string, string>;
  body: string;
}

/** The responses in what a socket received (content-length or chunked bodies), normalized for comparing. */
function responses(text: string): Parsed[] {
  const out: Parsed[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.slice(end + 4);
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, lineEnd), 16);
        rest = rest.slice(lineEnd + 2);
        if (!size) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    }
    const status = Number(statusLine.split(' ')[1]);
    for (const name of PER_REQUEST) delete headers[name];
    const names = lines
      .map((line) => line.slice(0, line.indexOf(':')))
      .filter((n) => !PER_REQUEST.has(n.toLowerCase()));
    out.push({ status, names, headers, body: normalizeBody(body) });
  }
  if (rest) out.push({ status: -1, names: [], headers: {}, body: rest }); // anything else (e.g. TIMEOUT)
  return out;
}

function normalizeBody(body: string): string {
  try {
    const parsed = JSON.parse(body);
    if (parsed?.extensions?.sql) delete parsed.extensions.sql;
    if (parsed?.extensions && Object.keys(parsed.extensions).length === 0) delete parsed.extensions;
    for (const error of parsed?.errors ?? []) delete error.extensions?.requestId;
    if (typeof parsed?.requestId === 'string') delete parsed.requestId;
    return JSON.stringify(parsed);
  } catch {
    return body;
  }
}

/** The statement counts of the JSON bodies in what a socket received (1: the front answered). */
function statements(text: string): Array<number | undefined> {
  return text
    .split('HTTP/1.1 ')
    .slice(1)
    .map((part) => /"sql":\{"statements":(\d+)/.exec(part)?.[1])
    .map((n) => (n === undefined ? undefined : Number(n)));
}

/** The same exchange against both gateways: the same responses, no 500, no hang; both still answer after. */
async function same(
  steps: Step[] | ((target: RunningGateway) => Step[]),
  timeoutMs?: number,
  pair: { planned: RunningGateway; off: RunningGateway } = { planned: gw, off },
) {
  const of = (target: RunningGateway) => (typeof steps === 'function' ? steps(target) : steps);
  const normal = await exchange(pair.off, of(pair.off), timeoutMs);
  const planned = await exchange(pair.planned, of(pair.planned), timeoutMs);
  expect(responses(planned)).toEqual(responses(normal));
  expect(planned).not.toMatch(/^HTTP\/1.1 5/m);
  expect(planned).not.toContain('TIMEOUT');
  const still = await pair.planned.graphql(POINT, { id: ids.a[0] }, tokens.a);
  expect(still.body.data.workspace.id).toBe(ids.a[0]);
  return { planned, normal };
}

const body = (id = ids.a[0]) => JSON.stringify({ query: POINT, variables: { id } });

/** A POST /graphql request's bytes. */
function request(
  payload: string,
  options: {
    token?: string;
    contentType?: string;
    extra?: string;
    path?: string;
    method?: string;
    close?: boolean;
  } = {},
): string {
  const lines = [
    `${options.method ?? 'POST'} ${options.path ?? '/graphql'} HTTP/1.1`,
    'Host: localhost',
    `Content-Type: ${options.contentType ?? 'application/json'}`,
    `Authorization: Bearer ${options.token ?? tokens.a}`,
    `Content-Length: ${Buffer.byteLength(payload, 'latin1')}`,
    ...(options.close === false ? [] : ['Connection: close']),
    ...(options.extra ? [options.extra] : []),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${payload}`;
}

describe('odd but legal requests: the front answers as express, body-parser and Apollo do', () => {
  test('the plain known request is answered by the front (1 statement), as the plan-off gateway answers', async () => {
    const { planned } = await same([request(body())]);
    expect(statements(planned)).toEqual([1]);
    expect(responses(planned)[0].status).toBe(200);
  });

  test.each([
    ['a charset with a stray closing quote (body-parser: unknown charset, 415)', 'application/json; charset=utf-8"'],
    ['a charset with a stray opening quote', 'application/json; charset="utf-8'],
    ['a no-break space after the type (not OWS: body-parser does not parse it)', 'application/json\xa0'],
    ['a no-break space before the charset', 'application/json;\xa0charset=utf-8'],
    ['a tab before the charset', 'application/json;\tcharset=utf-8'],
    ['upper case', 'APPLICATION/JSON; CHARSET=UTF-8'],
    ['spaces around =', 'application/json ; charset = utf-8'],
    ['a quoted charset', 'application/json; charset="utf-8"'],
    ['another parameter', 'application/json; charset=utf-8; foo=bar'],
    ['utf8 without a hyphen', 'application/json; charset=utf8'],
    ['utf-16', 'application/json; charset=utf-16'],
    ['an empty charset', 'application/json; charset='],
    ['a trailing semicolon', 'application/json;'],
  ])('Content-Type: %s', async (_name, contentType) => {
    await same([request(body(), { contentType })]);
  });

  test('pipelined requests on one keep-alive socket (known, other tenant, refused, unknown), each answered in order', async () => {
    const { planned } = await same([
      request(body(), { close: false }) +
        request(body(ids.b[0]), { close: false, token: tokens.b }) +
        request(body(ids.a[1]), { close: false, token: tokens.b }) +
        request(JSON.stringify({ query: `{ organization { id } }` }), { close: false }) +
        request(body(ids.a[1])),
    ]);
    const answered = responses(planned);
    expect(answered.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(JSON.parse(answered[0].body).data.workspace.id).toBe(ids.a[0]);
    expect(JSON.parse(answered[1].body).data.workspace.id).toBe(ids.b[0]);
    expect(JSON.parse(answered[2].body).data.workspace).toBeNull(); // org B asking for A's id
    expect(JSON.parse(answered[4].body).data.workspace.id).toBe(ids.a[1]);
  });

  test('pipelined: a refused Accept (406, body never read by express), invalid JSON, then a known request', async () => {
    const { planned } = await same([
      request(body(), { close: false, extra: 'Accept: text/html' }) +
        request('{"query": ', { close: false }) +
        request(body()),
    ]);
    expect(responses(planned).map((r) => r.status)).toEqual([406, 400, 200]);
    expect(statements(planned)).toEqual([undefined, undefined, 1]);
  });

  test('Expect: 100-continue, the body sent after the interim response', async () => {
    const payload = body();
    const head = request('', { extra: 'Expect: 100-continue' }).replace(
      'Content-Length: 0',
      `Content-Length: ${payload.length}`,
    );
    const { planned } = await same([head, 200, payload]);
    expect(planned).toMatch(/^HTTP\/1.1 100 Continue/);
  });

  test('duplicate headers (two Authorization, two Content-Type, two X-Request-Id)', async () => {
    const base = request(body());
    await same([
      base.replace(
        'Connection: close',
        `Connection: close\r\nAuthorization: Bearer ${tokens.b}\r\nContent-Type: text/plain\r\nX-Request-Id: one\r\nX-Request-Id: two`,
      ),
    ]);
  });

  test('an Origin header (CORS runs in the front and again in express for a request it passes on)', async () => {
    const origin = 'Origin: https://app.example\r\nX-Request-Id: front-origin-1';
    const { planned } = await same([request(body(), { extra: origin })]);
    expect(statements(planned)).toEqual([1]);
    // Passed on to Apollo after the front read it (not known): CORS twice must still be one set of headers.
    await same([request(JSON.stringify({ query: `{ organization { slug } }` }), { extra: origin })]);
    await same([request(body(ids.a[1]), { extra: origin, token: tokens.b })]);
  });

  test('a list of allowed origins: allowed, refused and absent origins, known and passed on', async () => {
    const env = { CORS_ALLOWED_ORIGINS: 'https://app.example,http://localhost:5173' };
    const pair = {
      planned: await startGateway({ databaseUrl: db.url, key: gw.key, env: { ...env, GRAPHQL_SQL_PLAN: 'on' } }),
      off: await startGateway({ databaseUrl: db.url, key: gw.key, env: { ...env, GRAPHQL_SQL_PLAN: 'off' } }),
    };
    try {
      for (let i = 0; i < 2; i++) await pair.planned.graphql(POINT, { id: ids.a[0] }, tokens.a);
      for (const origin of ['https://app.example', 'https://evil.example', 'null', undefined]) {
        const extra = origin ? `Origin: ${origin}` : undefined;
        const { planned } = await same([request(body(), { extra })], undefined, pair);
        expect(statements(planned)).toEqual([1]);
        await same([request(JSON.stringify({ query: `{ organization { slug } }` }), { extra })], undefined, pair);
        await same([request('{"query": 1}', { extra })], undefined, pair);
        await same([request('{not json', { extra })], undefined, pair);
      }
    } finally {
      await pair.planned.stop();
      await pair.off.stop();
    }
  });

  test('a body sent slowly in many chunks', async () => {
    const whole = request(body());
    const split = whole.indexOf('\r\n\r\n') + 4;
    const steps: Step[] = [whole.slice(0, split)];
    for (let i = split; i < whole.length; i += 7) steps.push(10, whole.slice(i, i + 7));
    const { planned } = await same(steps);
    expect(statements(planned)).toEqual([1]);
  });

  test('a body shorter than its Content-Length, then the client half-closes or waits', async () => {
    const whole = request(body());
    await same([whole.slice(0, -5), 100, 'end']);
    // The client waits without closing: both answer nothing until it goes (no hang of the server itself).
    const normal = await exchange(off, [whole.slice(0, -5)], 1500);
    const planned = await exchange(gw, [whole.slice(0, -5)], 1500);
    expect(planned).toBe(normal);
    const still = await gw.graphql(POINT, { id: ids.a[0] }, tokens.a);
    expect(still.status).toBe(200);
  });

  test.each([
    ['lower-case method', { method: 'post' }],
    ['/GraphQL', { path: '/GraphQL' }],
    ['/graphql/', { path: '/graphql/' }],
    ['/graphql?', { path: '/graphql?' }],
    ['/graphql#x', { path: '/graphql#x' }],
    ['//graphql', { path: '//graphql' }],
    ['absolute-form URL', { path: 'http://localhost/graphql' }],
  ])('%s', async (_name, options) => {
    await same([request(body(), options)]);
  });

  test('HTTP/1.0, with and without keep-alive', async () => {
    const once = request(body()).replace(' HTTP/1.1\r\n', ' HTTP/1.0\r\n');
    const { planned } = await same([once]);
    expect(statements(planned)).toEqual([1]);
    await same([once.replace('Connection: close', 'Connection: keep-alive'), 300, 'end']);
  });

  test.each([
    ['lower-case scheme', (t: string) => `bearer ${t}`],
    ['two spaces', (t: string) => `Bearer  ${t}`],
    ['a trailing space', (t: string) => `Bearer ${t} `],
    ['no scheme', (t: string) => t],
    ['an empty value', () => ''],
    ['Basic', (t: string) => `Basic ${Buffer.from(`x:${t}`).toString('base64')}`],
    ['two tokens joined', (t: string) => `Bearer ${t}, Bearer ${t}`],
  ])('an Authorization header with %s', async (_name, value) => {
    const header = request(body()).replace(/Authorization: Bearer [^\r]*/, `Authorization: ${value(tokens.a)}`);
    await same([header]);
  });

  test('Transfer-Encoding: chunked', async () => {
    const payload = body();
    const head = request('').replace('Content-Length: 0', 'Transfer-Encoding: chunked');
    await same([head, `${payload.length.toString(16)}\r\n${payload}\r\n0\r\n\r\n`]);
  });

  test.each([
    [
      'a duplicate query key (the last wins)',
      `{"query":"{ nonsense }","query":${JSON.stringify(POINT)},"variables":{"id":"ID"}}`,
    ],
    ['a __proto__ key at the top', `{"query":${JSON.stringify(POINT)},"variables":{"id":"ID"},"__proto__":{"x":1}}`],
    [
      'a __proto__ key in variables',
      `{"query":${JSON.stringify(POINT)},"variables":{"__proto__":{"id":"ID"},"id":"ID"}}`,
    ],
    ['variables only through __proto__', `{"query":${JSON.stringify(POINT)},"variables":{"__proto__":{"id":"ID"}}}`],
    ['a constructor key in variables', `{"query":${JSON.stringify(POINT)},"variables":{"constructor":1,"id":"ID"}}`],
    ['an escaped query text', `{"query":${JSON.stringify(POINT).replace('{', '\\u007b')},"variables":{"id":"ID"}}`],
    ['a byte-order mark then whitespace', `\ufeff \n{"query":${JSON.stringify(POINT)},"variables":{"id":"ID"}}`],
    ['two byte-order marks', `\ufeff\ufeff{"query":${JSON.stringify(POINT)},"variables":{"id":"ID"}}`],
    ['a NUL after the object', `{"query":${JSON.stringify(POINT)},"variables":{"id":"ID"}}\u0000`],
    ['invalid UTF-8 inside the query text', `{"query":${JSON.stringify(POINT + ' #\xff')},"variables":{"id":"ID"}}`],
    ['an operationName of null', `{"query":${JSON.stringify(POINT)},"variables":{"id":"ID"},"operationName":null}`],
    [
      'variables nested 100000 deep',
      `{"query":${JSON.stringify(POINT)},"variables":{"id":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
    ],
    ['variables as a JSON-encoded string', `{"query":${JSON.stringify(POINT)},"variables":"{\\"id\\":\\"ID\\"}"}`],
    ['variables as an array', `{"query":${JSON.stringify(POINT)},"variables":["ID"]}`],
    ['an empty extensions object', `{"query":${JSON.stringify(POINT)},"variables":{"id":"ID"},"extensions":{}}`],
    [
      'an operationName naming no operation',
      `{"query":${JSON.stringify(POINT)},"variables":{"id":"ID"},"operationName":"Other"}`,
    ],
    [
      'the id of another type',
      `{"query":${JSON.stringify(POINT)},"variables":{"id":"T3JnYW5pemF0aW9uOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA"}}`,
    ],
    ['an array body', `[{"query":${JSON.stringify(POINT)},"variables":{"id":"ID"}}]`],
  ])('a JSON body with %s', async (_name, template) => {
    // Written as UTF-8 bytes (the BOM, ÿ as its own invalid byte: latin1 for that case).
    const text = template.replace(/ID/g, ids.a[0]);
    const payload = template.includes('\xff') ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8');
    const head = request('').replace('Content-Length: 0', `Content-Length: ${payload.length}`);
    await same([head, payload]);
  });

  test('whitespace around a known query: 0.9 MB (read by the front), 2 MB (body-parser refuses, 413), and at the 1 MiB limit', async () => {
    for (const size of [900_000, 2_000_000]) {
      const pad = ' \n\t'.repeat(size / 6); // on each side
      const { planned } = await same([request(`${pad}${body()}${pad}`)]);
      expect(responses(planned)[0].status).toBe(size < 1_000_000 ? 200 : 413);
    }
    // Exactly the limit (read by the front and by body-parser alike) and one byte more (413 from both).
    for (const total of [1024 * 1024, 1024 * 1024 + 1]) {
      const payload = `${body()}${' '.repeat(total - body().length)}`;
      const { planned } = await same([request(payload)]);
      expect(responses(planned)[0].status).toBe(total <= 1024 * 1024 ? 200 : 413);
    }
  });
});

describe('tenants and callers on the front', () => {
  test("org B's token replaying org A's known text with A's ids: nothing of A", async () => {
    const { planned } = await same([request(body(ids.a[0]), { token: tokens.b })]);
    expect(JSON.parse(responses(planned)[0].body).data.workspace).toBeNull();
  });

  test('a token that expires between two requests is refused on the second, as without the front', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3;
    const token = gw.token(orgA.id, undefined, { exp });
    const first = await same([request(body(), { token })]);
    expect(JSON.parse(responses(first.planned)[0].body).data.workspace.id).toBe(ids.a[0]);
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 1500));
    const { planned } = await same([request(body(), { token })]);
    expect(JSON.parse(responses(planned)[0].body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('a token whose scopes lack the field, and a member removed between two requests', async () => {
    await same([request(body(), { token: gw.token(orgA.id, ['org:read']) })]);
    await db.admin.query(
      `INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, 'front-admin', 'fa@a.test', 'admin')`,
      [orgA.id],
    );
    const token = gw.token(orgA.id, undefined, { sub: 'front-admin' });
    const before = await same([request(body(), { token })]);
    expect(JSON.parse(responses(before.planned)[0].body).data.workspace.id).toBe(ids.a[0]);
    expect(statements(before.planned)).toEqual([1]);
    // Demoted to a role without workspaces:read: refused as without the front (the caller row is read again).
    await db.admin.query(`UPDATE org_members SET role = 'billing' WHERE org_id = $1 AND user_id = 'front-admin'`, [
      orgA.id,
    ]);
    const demoted = await same([request(body(), { token })]);
    expect(JSON.parse(responses(demoted.planned)[0].body).data?.workspace ?? null).toBeNull();
    await db.admin.query(`DELETE FROM org_members WHERE org_id = $1 AND user_id = 'front-admin'`, [orgA.id]);
    const { planned } = await same([request(body(), { token })]);
    expect(JSON.parse(responses(planned)[0].body).errors).toBeTruthy();
  });

  test('an API key revoked between two requests', async () => {
    const key = await cli(
      ['apikey', 'create', '--org', orgA.slug, '--name', 'front', '--scopes', 'org:read,workspaces:read', '--json'],
      { DATABASE_URL: db.url },
    );
    const token = await gw.exchangeApiKey(key.json.key);
    const before = await same([request(body(), { token })]);
    expect(statements(before.planned)).toEqual([1]);
    await db.admin.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [key.json.id]);
    const { planned } = await same([request(body(), { token })]);
    expect(JSON.parse(responses(planned)[0].body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('documents and variables the front may answer: each as the plan-off gateway, for either tenant', () => {
  const documents: Array<[string, (tenant: 'a' | 'b') => Record<string, unknown>[]]> = [
    [
      `query FrontInclude($id: ID!, $f: Boolean!) { workspace(id: $id) { id name @include(if: $f) } }`,
      (t) => [{ id: ids[t][0], f: true }, { id: ids[t][0], f: false }, { id: ids[t][0] }, { id: ids[t][0], f: null }],
    ],
    [`query FrontSkip($id: ID!) { workspace(id: $id) { id name @skip(if: true) } }`, (t) => [{ id: ids[t][0] }]],
    [
      `query FrontFragments($id: ID!) { a: workspace(id: $id) { ...W } b: workspace(id: $id) { __typename id } } fragment W on Workspace { name }`,
      (t) => [{ id: ids[t][1] }, { id: ids[t === 'a' ? 'b' : 'a'][1] }],
    ],
    [
      `query FrontTwo($x: ID!, $y: ID!) { x: workspace(id: $x) { id } y: workspace(id: $y) { id } }`,
      (t) => [
        { x: ids[t][0], y: ids[t === 'a' ? 'b' : 'a'][0] },
        { x: ids[t][0], y: ids[t][1] },
      ],
    ],
    [
      `query FrontPage($n: Int, $after: String) { organization { workspaces(first: $n, after: $after) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } }`,
      () => [{ n: 1 }, { n: 0 }, { n: -1 }, { n: 1000 }, { n: 1, after: 'djE6bm90LWEtdXVpZA' }, { n: 1, after: '' }],
    ],
  ];
  test.each(documents.map(([query, variables]) => [query.slice(6, 40), query, variables] as const))(
    '%s',
    async (_name, query, variablesOf) => {
      let fronted = 0;
      for (const tenant of ['a', 'b', 'a'] as const) {
        for (const variables of variablesOf(tenant)) {
          const payload = JSON.stringify({ query, variables });
          const token = tokens[tenant];
          await exchange(gw, [request(payload, { token })]); // makes it known (if Apollo plans it)
          const { planned } = await same([request(payload, { token })]);
          if (statements(planned)[0] === 1) fronted++;
        }
      }
      // The front answered some of them (the rest were Apollo's: declined by the planner, or errors).
      expect(fronted).toBeGreaterThan(0);
    },
  );
});

describe("the front's transaction and its connection", () => {
  test('one connection: after known answers, refusals and aborted clients, the next request sees only its own tenant and nothing stays in a transaction', async () => {
    const point = (id: string, token: string) => one.graphql(POINT, { id }, token);
    for (let round = 0; round < 3; round++) {
      const a = await point(ids.a[0], tokens.a);
      expect([a.body.data.workspace.id, a.body.extensions.sql.statements]).toEqual([ids.a[0], 1]);
      // Org B on the same connection, through the front: its own row, not A's.
      const b = await point(ids.b[0], tokens.b);
      expect([b.body.data.workspace.id, b.body.extensions.sql.statements]).toEqual([ids.b[0], 1]);
      const cross = await point(ids.a[1], tokens.b); // A's id for B: not found, answered by Apollo
      expect(cross.body.data.workspace).toBeNull();
      // A refused caller (removed scope) and a client that leaves before the answer.
      const refused = await point(ids.a[0], one.token(orgA.id, ['org:read']));
      expect(refused.body.errors?.[0].extensions.code).toBeTruthy();
      await exchange(one, [request(body(ids.a[0])), 'end'], 3000).catch(() => '');
      // The normal path (a list, not planned by the front's text) on the same connection after all that.
      const list = await one.graphql(
        `{ organization { id workspaces(first: 5) { edges { node { id } } } } }`,
        {},
        tokens.b,
      );
      expect(list.body.data.organization.workspaces.edges.map((e: any) => e.node.id).sort()).toEqual([...ids.b].sort());
    }
    expect(await openGatewayTransactions(db.admin)).toEqual([]);
    // The serving connection in the database: idle, no transaction, nothing left of a tenant's settings.
    const { rows } = await db.admin.query(
      `SELECT state, backend_xid, backend_xmin FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'manifest-gateway' AND state <> 'idle'`,
    );
    expect(rows).toEqual([]);
  });
});

describe('draining', () => {
  test('at SIGTERM: a known request whose body is still coming is answered (1 statement) with Connection: close; one read after it is refused 503 SHUTTING_DOWN', async () => {
    const target = await startGateway({ databaseUrl: db.url, key: gw.key, env: { GRAPHQL_SQL_PLAN: 'on' } });
    for (let i = 0; i < 2; i++) await target.graphql(POINT, { id: ids.a[0] }, tokens.a);
    const { port } = new URL(target.url);
    const open = async () => {
      const socket = net.connect({ port: Number(port), host: '127.0.0.1' });
      await new Promise((r) => socket.once('connect', r));
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      const closed = new Promise<string>((r) => socket.on('close', () => r(received)));
      return { socket, closed };
    };
    const whole = request(body(), { close: false });
    const inFlight = await open();
    inFlight.socket.write(whole.slice(0, -10)); // headers read before the signal, the body not complete
    const late = await open();
    late.socket.write(whole.slice(0, 30)); // headers not complete at the signal: read after it
    await new Promise((r) => setTimeout(r, 300));
    const exit = target.stop('SIGTERM');
    for (let i = 0; i < 100 && !target.logs.some((l) => l.includes('shutting down: draining')); i++)
      await new Promise((r) => setTimeout(r, 50));
    late.socket.write(whole.slice(30));
    inFlight.socket.write(whole.slice(-10));
    const [answered, refused] = await Promise.all([inFlight.closed, late.closed]);
    expect(await exit).toBe(0);
    const [answer] = responses(answered);
    expect(answer.status).toBe(200);
    expect(answer.headers).toMatchObject({ connection: 'close' });
    expect(statements(answered)).toEqual([1]);
    expect(JSON.parse(answer.body).data.workspace.id).toBe(ids.a[0]);
    const [refusal] = responses(refused);
    expect(refusal.status).toBe(503);
    expect(refusal.headers).toMatchObject({ connection: 'close', 'retry-after': '1' });
    expect(JSON.parse(refusal.body).errors[0].extensions.code).toBe('SHUTTING_DOWN');
  });
});
