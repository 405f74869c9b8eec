import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cli, startGateway } from './support/gateway';
import { generateKeyPair } from './support/tokens';
import { ok } from './support/fixtures';

/** The two-command path a new user takes: no DATABASE_URL, the embedded PostgreSQL under DATA_DIR. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

test('data created on the embedded PostgreSQL survives a stop and a start on the same data directory', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-restart-'));
  const env = { EMBEDDED_PG_PORT: String(await freePort()), DATABASE_URL: '' };
  const key = generateKeyPair();

  // The CLI works before the gateway ever ran: it starts the embedded server itself, migrates, stops it.
  const created = await cli(
    [
      'org',
      'create',
      '--name',
      'Persistent',
      '--slug',
      'persistent',
      '--owner-email',
      'o@example.test',
      '--owner-id',
      'user-1',
      '--json',
    ],
    { ...env, DATA_DIR: dataDir },
  );
  expect(created.code).toBe(0);
  const orgId = created.json.id as string;

  const first = await startGateway({ dataDir, env, key });
  const token = first.token(orgId);
  const ws = ok<any>(await first.graphql(`mutation { createWorkspace(input: { name: "Survivor" }) { id } }`, {}, token))
    .createWorkspace.id;
  // The CLI beside a running gateway reuses its PostgreSQL.
  const listed = await cli(['org', 'list', '--json'], { ...env, DATA_DIR: dataDir });
  expect(listed.json.map((o: any) => o.slug)).toEqual(['persistent']);
  expect(await first.stop('SIGTERM')).toBe(0);
  expect(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false); // PostgreSQL stopped cleanly

  const second = await startGateway({ dataDir, env, key });
  try {
    const data = ok<any>(
      await second.graphql(
        `query($id: ID!) { workspace(id: $id) { name } organization { slug } }`,
        { id: ws },
        second.token(orgId),
      ),
    );
    expect(data).toEqual({ workspace: { name: 'Survivor' }, organization: { slug: 'persistent' } });
    // Generated secrets were kept, not regenerated, and are private to the owner.
    expect(fs.statSync(path.join(dataDir, 'embedded-pg.json')).mode & 0o077).toBe(0);
  } finally {
    await second.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
