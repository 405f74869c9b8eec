import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { ALL_SCOPES } from './scopes';
import { PGBOUNCER_PORT } from './database';
import { claimsFor, generateKeyPair, signEs256, type Claims, type KeyPair } from './tokens';

/** The project root (works from test/support and from dist/test/support when a benchmark reuses this). */
function projectRoot(dir: string): string {
  return fs.existsSync(path.join(dir, 'package.json')) ? dir : projectRoot(path.dirname(dir));
}
export const ROOT = projectRoot(__dirname);

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  body: {
    data?: T | null;
    errors?: Array<{ message: string; path?: string[]; extensions: Record<string, any> }>;
    extensions?: any;
  };
}

export interface RunningGateway {
  url: string;
  /** The gateway process's pid (to send it signals). */
  pid: number;
  key: KeyPair;
  dataDir: string;
  logs: string[];
  /** A token for the org, signed with this gateway's key. */
  token(orgId: string, scopes?: string[], extra?: Claims): string;
  graphql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** POST /auth/token with an fl_… key: the access token (throws with the JSON error if refused). */
  exchangeApiKey(apiKey: string): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  databaseUrl?: string;
  env?: Record<string, string>;
  dataDir?: string;
  key?: KeyPair;
  /** Called with every line the gateway writes, also before it listens (e.g. to act on start-up logs). */
  onLog?: (line: string) => void;
}

/** Starts the real gateway (`node dist/src/main.js`) on a free port and waits until it listens. */
export async function startGateway(options: StartOptions = {}): Promise<RunningGateway> {
  const key = options.key ?? generateKeyPair();
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gw-test-'));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    JWT_PRIVATE_KEY: key.privatePem,
    EXPOSE_SQL_STATEMENT_COUNT: 'true',
    // Behind the run's PgBouncer (transaction mode: no session state) as the README tells operators to.
    ...(PGBOUNCER_PORT ? { DB_PREPARED_STATEMENTS: 'off' } : {}),
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  };
  if (!options.databaseUrl && !options.env?.DATABASE_URL) delete env.DATABASE_URL;
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${logs.join('\n')}`)), 45000);
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        logs.push(line);
        options.onLog?.(line);
        if (process.env.GATEWAY_TEST_LOGS) process.stderr.write(`[gateway] ${line}\n`);
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
      reject(new Error(`gateway exited with ${code}:\n${logs.join('\n')}`));
    });
  });
  return gatewayHandle(child, url, key, dataDir, logs);
}

function gatewayHandle(
  child: ChildProcess,
  url: string,
  key: KeyPair,
  dataDir: string,
  logs: string[],
): RunningGateway {
  return {
    url,
    pid: child.pid!,
    key,
    dataDir,
    logs,
    token: (orgId, scopes = ALL_SCOPES, extra = {}) => signEs256(key.privateKey, claimsFor(orgId, scopes, extra)),
    async graphql(query, variables, token) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return {
        status: response.status,
        headers: response.headers,
        body: (await response.json()) as GraphQLResponse['body'],
      };
    },
    async exchangeApiKey(apiKey) {
      const response = await fetch(`${url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ api_key: apiKey }),
      });
      const body = (await response.json()) as { access_token?: string };
      if (!response.ok || !body.access_token) throw new Error(`token exchange refused: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return Promise.resolve(child.exitCode);
      return new Promise((resolve) => {
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}

/** Runs the operator CLI (`node dist/src/cli/main.js …`) and parses its --json output. */
export async function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string; json?: any }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), ...args], {
    env: { ...(process.env as Record<string, string>), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)));
  let json: unknown;
  if (args.includes('--json') && code === 0) json = JSON.parse(stdout);
  return { code, stdout, stderr, json };
}
