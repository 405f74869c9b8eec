import { createTestDatabase, type TestDatabase } from './support/database';
import { startGateway, type RunningGateway } from './support/gateway';
import { generateKeyPair } from './support/tokens';

/**
 * Replicas of a new deployment start at the same moment on an unmigrated database. Migrations must run once:
 * TypeORM takes no lock of its own, so without one the slower replica failed on objects the faster one had
 * just created ("already exists") and exited.
 */
let db: TestDatabase;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(gateways.map((gw) => gw.stop()));
  await db.drop();
});

test('three replicas starting together on an unmigrated database all start, and every migration runs once', async () => {
  const key = generateKeyPair();
  const started = await Promise.allSettled(Array.from({ length: 3 }, () => startGateway({ databaseUrl: db.url, key })));
  for (const result of started) if (result.status === 'fulfilled') gateways.push(result.value);
  expect(
    started.map((result) => (result.status === 'fulfilled' ? 'started' : String(result.reason).slice(0, 300))),
  ).toEqual(['started', 'started', 'started']);
  const { rows } = await db.admin.query(`SELECT name, count(*)::int AS n FROM migrations GROUP BY name ORDER BY name`);
  expect(rows.length).toBeGreaterThan(5);
  expect(rows.filter((row) => row.n !== 1)).toEqual([]);
  for (const gw of gateways) expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
});
