import type { DataSource } from 'typeorm';
import { createDataSource } from '../src/db/data-source';
import { OwnerStatements } from '../src/db/platform';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { createTestDatabase, type TestDatabase } from './support/database';

/**
 * OwnerStatements (src/db/platform.ts; issue 11, W4): owner-pool statements issued together share one
 * message, each still in a transaction of its own, the platform settings local to the platform statement.
 * Real PostgreSQL; the pool's query method is only counted, not replaced.
 */
let db: TestDatabase;
let owner: DataSource;
let messages = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = createDataSource({ url: db.url, poolSize: 2 });
  await owner.initialize();
  const pool = (owner.driver as unknown as { master: { query: (...args: unknown[]) => unknown } }).master;
  const query = pool.query.bind(pool);
  pool.query = (...args: unknown[]) => {
    messages++;
    return query(...args);
  };
  await db.admin.query(`CREATE TABLE owner_statements (k text PRIMARY KEY, n int NOT NULL)`);
});

afterAll(async () => {
  await owner?.destroy();
  await db?.drop();
});

async function keys(): Promise<string[]> {
  return (await db.admin.query(`SELECT k FROM owner_statements ORDER BY k`)).rows.map((r) => r.k);
}

const UPSERT = `
  INSERT INTO owner_statements VALUES ($1, $2)
    ON CONFLICT (k) DO UPDATE SET n = owner_statements.n + ($2)
  RETURNING n, coalesce(current_setting($3, true), $4) AS platform_admin;`;

test('a plain statement and a platform statement issued together: one message, settings local to the platform one', async () => {
  const statements = new OwnerStatements(owner);
  const before = messages;
  // The platform statement first in the code, as the token exchange issues them: the plain one still goes first.
  const [platform, plain] = await Promise.all([
    statements.platform(
      `SELECT current_setting($1, true) AS platform_admin, count(*)::int AS n FROM owner_statements`,
      ['app.platform_admin'],
    ),
    statements.query({ text: UPSERT, values: ['a', 2, 'app.platform_admin', ''] }),
  ]);
  expect(messages - before).toBe(1);
  expect(plain.rows).toEqual([{ n: 2, platform_admin: '' }]);
  expect(platform).toEqual([{ platform_admin: 'on', n: 1 }]); // it ran after the upsert committed
  // Alone, each is sent as before (one message each).
  const again = messages;
  expect((await statements.query({ text: UPSERT, values: ['a', 3, 'app.platform_admin', ''] })).rows).toEqual([
    { n: 5, platform_admin: '' },
  ]);
  expect(await statements.platform(`SELECT $1::int AS x`, [7])).toEqual([{ x: 7 }]);
  expect(messages - again).toBe(2);
});

test('a failing platform statement: the plain statement before it stays committed, both report the error', async () => {
  const statements = new OwnerStatements(owner);
  const results = await Promise.allSettled([
    statements.query({ text: UPSERT, values: ['b', 1, 'app.platform_admin', ''] }),
    statements.platform(`SELECT 1 / $1::int AS x`, [0]),
  ]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/division by zero/);
  expect(await keys()).toContain('b');
});

test('a failing plain statement: the platform statement after it never runs', async () => {
  const statements = new OwnerStatements(owner);
  const results = await Promise.allSettled([
    statements.query({ text: `INSERT INTO owner_statements VALUES ($1, $2)`, values: ['c', null] }), // NOT NULL
    statements.platform(`INSERT INTO owner_statements VALUES ($1, $2) RETURNING k`, ['d', 1]),
  ]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  const stored = await keys();
  expect(stored).not.toContain('c');
  expect(stored).not.toContain('d');
});

test("rate-limiter-flexible's upsert joins a platform statement issued just before it (the token exchange's order)", async () => {
  await db.admin.query(
    `CREATE TABLE IF NOT EXISTS limits (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`,
  );
  const statements = new OwnerStatements(owner);
  const limiter = new RateLimiterPostgres({
    storeClient: statements,
    storeType: 'pool',
    tableName: 'limits',
    tableCreated: true,
    keyPrefix: 'test',
    points: 2,
    duration: 60,
  });
  for (const expected of ['ok', 'ok', 'refused']) {
    const before = messages;
    const lookup = statements.platform(`SELECT current_setting($1, true) AS platform_admin`, ['app.platform_admin']);
    const consumed = await limiter.consume('127.0.0.1').then(
      (res) => (res.consumedPoints <= 2 ? 'ok' : 'over'),
      (rejection) => (rejection instanceof RateLimiterRes ? 'refused' : String(rejection)),
    );
    expect(consumed).toBe(expected);
    expect(await lookup).toEqual([{ platform_admin: 'on' }]);
    expect(messages - before).toBe(1); // the upsert rode in the lookup's message
  }
  const { rows } = await db.admin.query(`SELECT points FROM limits WHERE key = 'test:127.0.0.1'`);
  expect(rows).toEqual([{ points: 3 }]); // every attempt counted, the refused one too
});
