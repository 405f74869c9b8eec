import http from 'node:http';
import { createOrg, ok, raw, type Org } from './support/fixtures';
import { useGateway } from './support/harness';
import { openGatewayTransactions } from './support/database';

/**
 * Issue 9 point 2 / issue 11 W3: a pooled connection belongs to exactly one request, start to end, also
 * when clients go away mid-request. Thousands of reads and writes from two organizations on a two-connection
 * pool, with clients dropping their sockets at random points: before the request was fully sent, while its
 * SQL runs (every component insert sleeps a few ms in a trigger), and while the answer is being read.
 *
 * What is asserted does not depend on timing: every answer that arrived is a 200 with the expected data
 * (never a 500, never another organization's row); every committed row belongs to the organization whose
 * request wrote it, and its audit entry carries that request's id and organization; nothing answered with
 * an error was committed; afterwards the pool holds no connection inside a transaction, and every pooled
 * connection still serves both organizations.
 */

const { gw, db } = useGateway({
  // A tiny pool, so that every connection is reused by both organizations hundreds of times; the waits
  // are generous so that no request is refused for lack of a connection (that would be a 503, not a bug).
  env: { DB_POOL_SIZE: '3', DB_POOL_WAIT_MS: '30000', REQUEST_TIMEOUT_MS: '60000' },
  timeout: 120000,
});
interface Tenant {
  org: Org;
  tag: string;
  token: string;
  workspaceId: string;
}
const tenants: Tenant[] = [];

beforeAll(async () => {
  for (const tag of ['alpha', 'beta']) {
    const org = await createOrg(db, tag);
    const token = gw.token(org.id);
    const workspaceId = ok<any>(
      await gw.graphql(`mutation { createWorkspace(input: { name: "W" }) { id } }`, {}, token),
    ).createWorkspace.id;
    tenants.push({ org, tag, token, workspaceId });
  }
  // Every component insert takes a few milliseconds inside the database, so that aborts land during SQL.
  await db.admin.query(`
    CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(CASE WHEN NEW.name LIKE 'slow-%' THEN 0.15 ELSE 0.001 + random() * 0.004 END); RETURN NEW; END $$;
    CREATE TRIGGER test_slow_insert BEFORE INSERT ON components FOR EACH ROW EXECUTE FUNCTION test_slow_insert();`);
}, 120000);

/**
 * How a client leaves. `during`: the socket is reset (RST, what a load tool or a killed process does)
 * while the request runs; the server notices at once. `during-fin`: an orderly close (FIN) while it runs;
 * HTTP allows a half-closed client to still read its answer, so Node keeps going and only notices when it
 * writes. `before-body`: half the body, then gone. `after-headers`: gone while reading the answer.
 */
type Abort = 'none' | 'before-body' | 'during' | 'during-fin' | 'after-headers';
interface Job {
  n: number;
  tenant: Tenant;
  kind: 'create' | 'read';
  abort: Abort;
  delayMs: number;
  names: string[];
  requestId: string;
}
type Outcome = { job: Job; received: true; status: number; body: any } | { job: Job; received: false };

// A deterministic pseudo-random sequence: the same mix on every run (what the sockets do is up to timing).
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const LETTERS = 'abcde';
/** A mutation of k createComponent fields (k savepoints in one transaction): m0 … m(k-1). */
const createMany = (k: number) =>
  `mutation(${Array.from({ length: k }, (_, i) => `$i${i}: CreateComponentInput!`).join(', ')}) { ` +
  Array.from({ length: k }, (_, i) => `m${i}: createComponent(input: $i${i}) { id name }`).join(' ') +
  ' }';
const READ = `query($w: ID!) { organization { id } workspace(id: $w) { id components(first: 20) { edges { node { id name } } } } }`;

function payload(job: Job): string {
  const input = (name: string) => ({ workspaceId: job.tenant.workspaceId, name, type: 'AGENT' });
  if (job.kind === 'create') {
    return JSON.stringify({
      query: createMany(job.names.length),
      variables: Object.fromEntries(job.names.map((name, i) => [`i${i}`, input(name)])),
    });
  }
  return JSON.stringify({ query: READ, variables: { w: job.tenant.workspaceId } });
}

function send(agent: http.Agent, job: Job): Promise<Outcome> {
  const body = payload(job);
  const url = new URL(`${gw.url}/graphql`);
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(outcome);
      }
    };
    const req = http.request({
      agent,
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: `Bearer ${job.tenant.token}`,
        'x-request-id': job.requestId,
      },
    });
    req.on('error', () => done({ job, received: false }));
    req.on('close', () => done({ job, received: false }));
    req.on('response', (res) => {
      if (job.abort === 'after-headers') {
        res.destroy();
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => done({ job, received: false }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* keep the text */
        }
        done({ job, received: true, status: res.statusCode ?? 0, body: parsed });
      });
    });
    if (job.abort === 'before-body') {
      req.write(body.slice(0, Math.floor(body.length / 2)));
      setTimeout(() => req.destroy(), job.delayMs);
      return;
    }
    req.end(body);
    if (job.abort === 'during')
      setTimeout(() => (req.socket ? req.socket.resetAndDestroy() : req.destroy()), job.delayMs);
    if (job.abort === 'during-fin') setTimeout(() => req.destroy(), job.delayMs);
  });
}

test('clients aborting at random points never leak a transaction into the pool or a row across organizations', async () => {
  const random = lcg(9);
  const jobs: Job[] = [];
  const TOTAL = 2400;
  for (let n = 0; n < TOTAL; n++) {
    const tenant = tenants[n % 2];
    const r = random();
    const kind = r < 0.7 ? 'create' : 'read';
    const fields = 1 + Math.floor(random() * LETTERS.length); // 1–5 mutations (savepoints) in one request
    const a = random();
    const abort: Abort =
      a < 0.35 ? 'during' : a < 0.45 ? 'during-fin' : a < 0.52 ? 'before-body' : a < 0.6 ? 'after-headers' : 'none';
    const names = kind === 'read' ? [] : Array.from({ length: fields }, (_, i) => `${tenant.tag}-${n}-${LETTERS[i]}`);
    jobs.push({ n, tenant, kind, abort, delayMs: Math.floor(random() * 40), names, requestId: `own-${n}` });
  }

  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        outcomes.push(await send(agent, job));
      }
    }),
  );
  agent.destroy();

  const received = outcomes.filter((o): o is Extract<Outcome, { received: true }> => o.received);
  // The mix really exercised both sides: many answers, and many requests abandoned midway.
  expect(received.length).toBeGreaterThan(TOTAL / 3);
  expect(outcomes.length - received.length).toBeGreaterThan(TOTAL / 10);

  // 1. Every answer that arrived is a 200 with the data its own organization asked for.
  const wrong: unknown[] = [];
  for (const o of received) {
    const { job, status, body } = o;
    const problem = (why: string) => wrong.push({ why, n: job.n, kind: job.kind, abort: job.abort, status, body });
    if (status !== 200 || body?.errors?.length) {
      problem('not a 200 without errors');
      continue;
    }
    if (job.kind === 'read') {
      if (raw(body.data.organization.id) !== job.tenant.org.id || body.data.workspace.id !== job.tenant.workspaceId)
        problem('another organization');
      for (const edge of body.data.workspace.components.edges)
        if (!edge.node.name.startsWith(`${job.tenant.tag}-`)) problem('a foreign row');
    } else {
      const results = job.names.map((_, i) => body.data[`m${i}`]);
      if (results.map((c: any) => c?.name).join() !== job.names.join()) problem('unexpected mutation result');
    }
  }
  expect(wrong).toEqual([]);

  // 2. What was committed: only rows of requests we sent, each in its own organization, each with its
  //    audit entry (same savepoint) naming the request that wrote it and that request's organization.
  const rows = (await db.admin.query(`SELECT id::text, org_id::text, name FROM components`)).rows as Array<{
    id: string;
    org_id: string;
    name: string;
  }>;
  const audit = (
    await db.admin.query(
      `SELECT org_id::text, target_id, request_id FROM audit_log WHERE operation = 'createComponent'`,
    )
  ).rows as Array<{
    org_id: string;
    target_id: string;
    request_id: string;
  }>;
  const byName = new Map(rows.map((row) => [row.name, row]));
  const jobByName = new Map(jobs.flatMap((job) => job.names.map((name) => [name, job] as const)));
  const auditByTarget = new Map(audit.map((a) => [a.target_id, a]));
  expect(byName.size).toBe(rows.length); // no name written twice
  const misplaced: unknown[] = [];
  for (const row of rows) {
    const job = jobByName.get(row.name);
    const entry = auditByTarget.get(row.id);
    if (
      !job ||
      row.org_id !== job.tenant.org.id ||
      entry?.org_id !== row.org_id ||
      entry?.request_id !== job.requestId
    ) {
      misplaced.push({ row, job: job && { n: job.n, org: job.tenant.org.id }, entry });
    }
  }
  expect(misplaced).toEqual([]);
  expect(audit.length).toBe(rows.length);

  // 3. Answered mutations: committed exactly when the answer says so (every row of a multi-mutation request).
  const inconsistent: unknown[] = [];
  for (const o of received) {
    if (o.job.kind === 'read') continue;
    const succeeded = o.status === 200 && !o.body?.errors?.length;
    for (const name of o.job.names)
      if (byName.has(name) !== succeeded) inconsistent.push({ n: o.job.n, name, status: o.status, body: o.body });
  }
  // A request never answered may have committed or not, but all of its mutations or none.
  for (const o of outcomes) {
    const committed = o.job.names.filter((name) => byName.has(name)).length;
    if (committed !== 0 && committed !== o.job.names.length)
      inconsistent.push({ n: o.job.n, committed, of: o.job.names.length });
  }
  expect(inconsistent).toEqual([]);

  // 4. The pool: no connection of the gateway left inside a transaction. A rollback of an abandoned
  //    request may still be finishing, so wait (bounded) for the gateway's connections to settle first.
  expect(await openGatewayTransactions(db.admin)).toEqual([]);

  // 5. Every pooled connection still serves both organizations correctly.
  const after = await Promise.all(
    Array.from({ length: 40 }, (_, i) => {
      const tenant = tenants[i % 2];
      return gw.graphql(READ, { w: tenant.workspaceId }, tenant.token).then((r) => ({ tenant, r }));
    }),
  );
  for (const { tenant, r } of after) {
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
    expect(raw(r.body.data.organization.id)).toBe(tenant.org.id);
  }
}, 180000);

test('a client that resets its connection while its mutations run: all of its work or none, and the connection serves others', async () => {
  // Every component insert named slow-… takes 150 ms in the database, so a reset after 40–700 ms lands,
  // with certainty, inside one of the request's 1–5 mutations (the answer cannot have been produced yet).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const [alpha, beta] = tenants;
  const jobs: Job[] = [];
  for (let j = 0; j < 24; j++) {
    const k = 1 + (j % 5);
    const names = Array.from({ length: k }, (_, i) => `slow-${j}-${LETTERS[i]}`);
    const delayMs = 40 + ((j * 97) % (150 * k - 50));
    jobs.push({ n: j, tenant: alpha, kind: 'create', abort: 'during', delayMs, names, requestId: `slow-${j}` });
  }
  const reads: Array<{ status: number; body: any }> = [];
  await Promise.all(
    jobs.map(async (job, j) => {
      await new Promise((r) => setTimeout(r, j * 60));
      const outcome = await send(agent, job);
      expect(outcome.received).toBe(false);
      // Right after the abort, the other organization uses every pooled connection.
      const answers = await Promise.all(
        Array.from({ length: 3 }, () => gw.graphql(READ, { w: beta.workspaceId }, beta.token)),
      );
      reads.push(...answers.map((a) => ({ status: a.status, body: a.body })));
    }),
  );
  agent.destroy();
  for (const read of reads) {
    expect(read.status).toBe(200);
    expect(read.body.errors).toBeUndefined();
    expect(raw(read.body.data.organization.id)).toBe(beta.org.id);
  }
  // A request never answered may have committed or not, but all of its mutations (and their audit entries,
  // under its own request id and organization) or none.
  const committed = (
    await db.admin.query(
      `SELECT c.name, c.org_id::text, a.request_id, a.org_id::text AS audit_org FROM components c LEFT JOIN audit_log a ON a.target_id = c.id::text WHERE c.name LIKE 'slow-%'`,
    )
  ).rows as Array<{ name: string; org_id: string; request_id: string | null; audit_org: string | null }>;
  for (const job of jobs) {
    const rows = committed.filter((row) => job.names.includes(row.name));
    expect([0, job.names.length]).toContain(rows.length);
    for (const row of rows)
      expect(row).toEqual({ name: row.name, org_id: alpha.org.id, request_id: job.requestId, audit_org: alpha.org.id });
  }
  expect(await openGatewayTransactions(db.admin)).toEqual([]);
}, 120000);
