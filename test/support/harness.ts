import crypto from 'node:crypto';
import { createTestDatabase, snapshot, type TestDatabase } from './database';
import { expectError } from './expect';
import { createOrg, type Org } from './fixtures';
import { cli, startGateway, type GraphQLResponse, type RunningGateway, type StartOptions } from './gateway';
import type { Claims } from './tokens';

/**
 * The one test harness (README "Tests"): a fresh database, a started gateway and organizations for the test
 * file, torn down after it. Call it at the top of a file:
 *
 *   const { gw, db, orgA, orgB, tokenFor } = useGateway({ orgs: ['keys-a', 'keys-b'] });
 *
 * It registers jest's beforeAll/afterAll, so the values exist from the first beforeAll/test on. They can be
 * destructured at module level because each is a stand-in that forwards to the real object once it exists
 * (reading one earlier throws, naming it). Order in beforeAll: database, serving login (if asked), gateway,
 * then the organizations one after another (created by the platform CLI, owned by `user-1`).
 */
export interface GatewayOptions {
  /** Slug prefixes of the organizations to create, in order: the first is `orgA` (= `org`), the second `orgB`. */
  orgs?: string[];
  /** Extra environment of the gateway process (DB_POOL_SIZE, PLATFORM_ADMIN_TOKEN, …). */
  env?: Record<string, string>;
  /** Create a privilege-less serving login (`cli db create-serving-login`) and serve through it (APP_DATABASE_URL). */
  servingLogin?: boolean;
  /** Other startGateway options (signing key, data dir, log hook). */
  start?: Omit<StartOptions, 'databaseUrl' | 'env'>;
  /** Timeout of the set-up hook (ms); jest's default for the project otherwise. */
  timeout?: number;
}

export interface GatewayFixture {
  gw: RunningGateway;
  db: TestDatabase;
  /** The first organization (alias of `orgA`). */
  org: Org;
  orgA: Org;
  orgB: Org;
  /** Every organization, in the order of `options.orgs` (read it inside hooks and tests). */
  orgs(): Org[];
  /** The serving login, when `servingLogin` was asked: its name and its APP_DATABASE_URL. */
  serving: { name: string; url: string };
  /** A token for the organization (default scopes: all; default subject: user-1, its owner). */
  tokenFor(org: Org | string, scopes?: string[], extra?: Claims): string;
  /**
   * Starts a new gateway process on the same database, data dir, signing key and options, and makes `gw`
   * point at it (a restart test stops the old one first, and may read its logs before calling this).
   */
  restartGateway(): Promise<RunningGateway>;
}

/** A stand-in for a value that exists only after beforeAll: every property read is forwarded to it. */
function late<T extends object>(name: string, get: () => T | undefined): T {
  const target = () => {
    const value = get();
    if (value === undefined)
      throw new Error(`useGateway(): ${name} is only available in hooks and tests, after its beforeAll`);
    return value;
  };
  return new Proxy({} as T, {
    get: (_, property) => Reflect.get(target(), property),
    has: (_, property) => Reflect.has(target(), property),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor: (_, property) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(target(), property);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}

export function useGateway(options: GatewayOptions = {}): GatewayFixture {
  let db: TestDatabase | undefined;
  let gw: RunningGateway | undefined;
  let serving: { name: string; url: string } | undefined;
  const orgs: Org[] = [];

  let env = options.env ?? {};
  beforeAll(async () => {
    db = await createTestDatabase();
    if (options.servingLogin) {
      // Migrations first (the CLI applies them), then the serving login.
      const name = `gw_serving_${crypto.randomBytes(3).toString('hex')}`;
      const login = await cli(['db', 'create-serving-login', '--name', name, '--json'], { DATABASE_URL: db.url });
      expect({ code: login.code, stderr: login.stderr }).toMatchObject({ code: 0 }); // stderr shows in the diff on failure
      serving = { name, url: login.json.app_database_url };
      env = { APP_DATABASE_URL: serving.url, ...env };
    }
    gw = await startGateway({ ...options.start, databaseUrl: db.url, env });
    for (const prefix of options.orgs ?? []) orgs.push(await createOrg(db, prefix));
  }, options.timeout);

  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
  });

  const orgAt = (i: number) =>
    late<Org>(`org #${i + 1} (options.orgs has ${options.orgs?.length ?? 0})`, () => orgs[i]);
  return {
    gw: late('gw', () => gw),
    db: late('db', () => db),
    org: orgAt(0),
    orgA: orgAt(0),
    orgB: orgAt(1),
    orgs: () => [...orgs],
    serving: late('serving (pass servingLogin: true)', () => serving),
    tokenFor: (org, scopes, extra) => late('gw', () => gw).token(typeof org === 'string' ? org : org.id, scopes, extra),
    async restartGateway() {
      const previous = late('gw', () => gw);
      gw = await startGateway({
        ...options.start,
        databaseUrl: db!.url,
        env,
        dataDir: previous.dataDir,
        key: previous.key,
      });
      return gw;
    },
  };
}

/**
 * The one assertion for a refused request: it fails with exactly one error of `code` (and, for
 * BAD_USER_INPUT, exactly these `fields`), and the database is exactly as it was before. It takes the request
 * as a function, not a response or a promise: a promise is already on its way, so a snapshot taken after
 * it could include the change it must not make. Returns the response for further checks.
 */
export async function expectRefusedUnchanged(
  request: () => Promise<GraphQLResponse>,
  expected: { code: string; fields?: string[] },
  db: TestDatabase,
): Promise<GraphQLResponse> {
  const before = await snapshot(db.admin);
  const response = await request();
  expectError(response, expected.code, expected.fields);
  expect(await snapshot(db.admin)).toEqual(before);
  return response;
}
