import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { cli, ROOT, startGateway } from './support/gateway';
import { generateKeyPair } from './support/tokens';
import { ok } from './support/fixtures';

/**
 * Development safety (issue 9, point 8): a second start on a DATA_DIR whose embedded PostgreSQL belongs
 * to a live gateway refuses and leaves it alone; an orphan (its gateway was SIGKILLed) is recovered; a
 * CLI command reuses a running database and never stops it; a bad setting names its variable.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const configModule = require('../dist/src/config.js');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const postmasterPid = (dataDir: string) =>
  Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

async function embeddedSetup(prefix: string) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const env = { EMBEDDED_PG_PORT: String(await freePort()), DATABASE_URL: '' };
  const created = await cli(
    [
      'org',
      'create',
      '--name',
      'Dev',
      '--slug',
      'dev',
      '--owner-email',
      'o@example.test',
      '--owner-id',
      'user-1',
      '--json',
    ],
    { ...env, DATA_DIR: dataDir, NODE_ENV: 'test' },
  );
  expect(created.code).toBe(0);
  return { dataDir, env, orgId: created.json.id as string, key: generateKeyPair() };
}

test('a second gateway on a running DATA_DIR refuses, naming the running pid and ports; the first keeps serving; the CLI reuses and leaves it running', async () => {
  const { dataDir, env, orgId, key } = await embeddedSetup('gw-twice-');
  const first = await startGateway({ dataDir, env, key });
  try {
    const owner = JSON.parse(fs.readFileSync(path.join(dataDir, 'owner.json'), 'utf8'));
    expect(owner).toMatchObject({
      pid: first.pid,
      kind: 'gateway',
      pgPort: Number(env.EMBEDDED_PG_PORT),
      httpPort: Number(new URL(first.url).port),
    });
    const postmaster = postmasterPid(dataDir);

    // Same DATA_DIR, even with another EMBEDDED_PG_PORT: refused before touching anything.
    const second = startGateway({ dataDir, key, env: { ...env, EMBEDDED_PG_PORT: String(await freePort()) } });
    const refusal = await second.then(
      () => 'started',
      (error: Error) => error.message,
    );
    expect(refusal).toMatch(/gateway exited with 1/);
    expect(refusal).toContain(`pid ${first.pid}`);
    expect(refusal).toContain(`serving on port ${new URL(first.url).port}`);
    expect(refusal).toContain(`embedded PostgreSQL on port ${env.EMBEDDED_PG_PORT}`);

    // A CLI command beside it reuses its PostgreSQL and does not stop it when done.
    const listed = await cli(['org', 'list', '--json'], { ...env, DATA_DIR: dataDir, NODE_ENV: 'test' });
    expect(listed.code).toBe(0);
    expect(listed.json.map((o: any) => o.slug)).toEqual(['dev']);

    // The first gateway and its database are untouched.
    expect(alive(postmaster)).toBe(true);
    expect(postmasterPid(dataDir)).toBe(postmaster);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    expect(ok<any>(await first.graphql(`{ organization { slug } }`, {}, first.token(orgId)))).toEqual({
      organization: { slug: 'dev' },
    });
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'owner.json'), 'utf8')).pid).toBe(first.pid);
  } finally {
    expect(await first.stop()).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a SIGKILLed gateway's orphaned PostgreSQL is stopped by the next start, which then serves the same data", async () => {
  const { dataDir, env, orgId, key } = await embeddedSetup('gw-orphan-');
  const first = await startGateway({ dataDir, env, key });
  const ws = ok<any>(
    await first.graphql(
      `mutation { createWorkspace(input: { name: "Before the kill" }) { id } }`,
      {},
      first.token(orgId),
    ),
  ).createWorkspace.id;
  const orphan = postmasterPid(dataDir);
  expect(await first.stop('SIGKILL')).toBe(null);
  expect(alive(orphan)).toBe(true); // nobody stopped it: an orphan, its owner record names a dead pid

  const second = await startGateway({ dataDir, env, key });
  try {
    expect(alive(orphan)).toBe(false);
    expect(postmasterPid(dataDir)).not.toBe(orphan);
    expect(second.logs.join('\n')).toContain('orphaned PostgreSQL');
    expect(
      ok<any>(await second.graphql(`query($id: ID!) { workspace(id: $id) { name } }`, { id: ws }, second.token(orgId))),
    ).toEqual({ workspace: { name: 'Before the kill' } });
  } finally {
    expect(await second.stop()).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the embedded PostgreSQL stopped under a running gateway: 503 SERVICE_UNAVAILABLE with Retry-After, then the gateway starts it again and serves the same data', async () => {
  const { dataDir, env, orgId, key } = await embeddedSetup('gw-pgstop-');
  const gateway = await startGateway({ dataDir, env, key });
  try {
    const query = () => gateway.graphql(`{ organization { slug } }`, {}, gateway.token(orgId));
    expect((await query()).status).toBe(200);
    const first = postmasterPid(dataDir);
    process.kill(first, 'SIGINT'); // what `pg_ctl stop -m fast` does; nothing but the gateway can start it again
    while (alive(first)) await new Promise((resolve) => setTimeout(resolve, 50));

    const outage = await query();
    if (outage.status !== 200) {
      // Unless the restart already won the race: the outage is named.
      expect(outage.status).toBe(503);
      expect(outage.headers.get('retry-after')).toBe('1');
      expect(outage.body.errors?.[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
    }
    // Liveness, not speed: poll (bounded) until it serves again.
    let answer = outage;
    for (let i = 0; i < 100 && answer.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      answer = await query();
    }
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual({ organization: { slug: 'dev' } });
    const second = postmasterPid(dataDir);
    expect(second).not.toBe(first);
    expect(alive(second)).toBe(true);
    expect(gateway.logs.join('\n')).toContain('embedded PostgreSQL exited unexpectedly; starting it again');

    // The restarted database is still the gateway's: stopped by it, last, on SIGTERM (exit 0).
    expect(await gateway.stop()).toBe(0);
    expect(alive(second)).toBe(false);
  } finally {
    await gateway.stop('SIGKILL').catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('LOG_LEVEL=loud stops the gateway with exit code 2 and a message naming LOG_LEVEL', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-loud-'));
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
      env: { ...process.env, LOG_LEVEL: 'loud', DATA_DIR: dataDir },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
  fs.rmSync(dataDir, { recursive: true, force: true });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/);
});

test.each([
  [{ LOG_LEVEL: 'INFO' }, /LOG_LEVEL/],
  [{ NODE_ENV: 'prod' }, /NODE_ENV must be one of development, test, production/],
  [{ SHUTDOWN_GRACE_MS: '-1' }, /SHUTDOWN_GRACE_MS/],
  [{ SHUTDOWN_GRACE_MS: '10s' }, /SHUTDOWN_GRACE_MS/],
  [{ DATABASE_URL: 'localhost:5432/manifest' }, /DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/],
  [{ APP_DATABASE_URL: 'mysql://u:p@h/db' }, /APP_DATABASE_URL must be a postgres/],
  [
    { AUTH_JWKS_URL: 'https://idp.test/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a', AUTH_ALGORITHMS: 'RS999' },
    /AUTH_ALGORITHMS/,
  ],
  [{ AUTH_ISSUER: 'https://idp.test/' }, /AUTH_ISSUER is set but AUTH_JWKS_URL is not/],
  [{ EMBEDDED_PG_PORT: '80' }, /EMBEDDED_PG_PORT/],
])('a bad value names its variable: %j', (env, message) => {
  expect(() => configModule.loadConfig(env)).toThrow(configModule.ConfigError);
  expect(() => configModule.loadConfig(env)).toThrow(message);
});

test('a password in a bad DATABASE_URL is never echoed', () => {
  let message = '';
  try {
    configModule.loadConfig({ DATABASE_URL: 'mysql://u:sup3rsecret@h/db' });
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(/DATABASE_URL/);
  expect(message).not.toContain('sup3rsecret');
});

test('defaults and the new setting', () => {
  const config = configModule.loadConfig({});
  expect(config).toMatchObject({ env: 'development', logLevel: 'info', shutdownGraceMs: 10000 });
  expect(configModule.loadConfig({ SHUTDOWN_GRACE_MS: '2500', LOG_LEVEL: 'debug', NODE_ENV: 'test' })).toMatchObject({
    shutdownGraceMs: 2500,
    logLevel: 'debug',
  });
});
