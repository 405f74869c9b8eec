/**
 * A/B of two builds of the gateway in ONE run (bench/README.md "Per-request overhead"): both production
 * gateways on the same embedded PostgreSQL and data (the harness's W1/W2 data and queries), pinned to the same
 * server core, measured alternately in short slices (A B B A A B …), CPU ms per request of each from
 * /proc/<pid>/stat. Alternating within one run puts both builds under the same machine load, slice by slice,
 * which separate harness runs on a shared machine do not.
 *
 *   node bench/ab-builds.mjs <dir A> <dir B>     # each dir: a checkout with `npm run -s build` done
 *   AB_WORKLOADS=W2,W1 AB_SLICES=6 AB_SECONDS=4 node bench/ab-builds.mjs /tmp/base .
 *   AB_ENV_B='{"ACCESS_LOG":"false"}' node bench/ab-builds.mjs . .   # one setting's cost (extra env for B)
 *
 * Uses the bench's own modules (bench/node_modules: autocannon, jose); run it under the bench lock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, createOrgs, firstWorkspaces, seedTrees } from './lib/data.mjs';
import { databaseCpuDelta, databaseCpuMs, gatewayServer, pinSelf } from './lib/servers.mjs';
import { makeKeys, userToken } from './lib/keys.mjs';
import { WORKLOADS } from './lib/workloads.mjs';
import { load } from './lib/load.mjs';

const [dirA, dirB] = process.argv.slice(2).map((d) => path.resolve(d));
if (!dirA || !dirB) throw new Error('usage: node bench/ab-builds.mjs <dir A> <dir B>');
const NAMES = WORKLOADS_ENV();
const SLICES = Number(process.env.AB_SLICES || 6);
const SECONDS = Number(process.env.AB_SECONDS || 4);
const CONNECTIONS = Number(process.env.AB_CONNECTIONS || 10);
const log = (m) => process.stderr.write(`[ab ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function WORKLOADS_ENV() {
  return (process.env.AB_WORKLOADS || 'W2,W1').split(',');
}

/** CPU ms of a process so far: user + system, and system alone (the kernel's share: sockets, loopback TCP). */
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { total: ((Number(fields[11]) + Number(fields[12])) * 1000) / 100, system: (Number(fields[12]) * 1000) / 100 };
}

const db = await createDatabase();
const servers = [];
try {
  const [org] = await createOrgs(db.admin, 'ab', 1);
  await seedTrees(db.admin, [org.id], { workspaces: 20, environments: 10, components: 10 });
  const [workspaceId] = await firstWorkspaces(db.admin, [org.id]);
  const keys = await makeKeys();
  const token = await userToken(keys, org.id);
  const targets = [{ orgId: org.id, workspaceId, token }];
  const cpu = os.availableParallelism() > 1 ? '1' : '';
  servers.push(
    await gatewayServer({ db, keys, cpu, root: dirA, name: 'A', env: JSON.parse(process.env.AB_ENV_A || '{}') }),
    await gatewayServer({ db, keys, cpu, root: dirB, name: 'B', env: JSON.parse(process.env.AB_ENV_B || '{}') }),
  );
  pinSelf('0');
  log(`A ${dirA} (pid ${servers[0].pid}), B ${dirB} (pid ${servers[1].pid})`);
  for (const name of NAMES) {
    const spec = WORKLOADS[name].peers.gateway;
    const cpu = { A: [], B: [] };
    const slice = async (server, seconds, record) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = cpuMs(server.pid);
      const databaseBefore = databaseCpuMs();
      const r = await load(server.url, spec, targets, { seconds, connections: CONNECTIONS, label: name });
      if (r.failure) throw new Error(r.failure);
      const after = cpuMs(server.pid);
      const perRequest = (after.total - before.total) / r.requests;
      const system = (after.system - before.system) / r.requests;
      const database = databaseCpuDelta(databaseBefore, databaseCpuMs()) / r.requests;
      if (record) cpu[server.name].push(perRequest);
      return { perRequest, system, database, rps: r.rps };
    };
    for (const server of servers) await slice(server, 2, false); // warm-up
    for (let i = 0; i < SLICES; i++) {
      // A B, B A, A B, …: each build goes first in half of the slices.
      const order = i % 2 ? [servers[1], servers[0]] : servers;
      const out = [];
      for (const server of order) {
        const { perRequest, system, database, rps } = await slice(server, SECONDS, true);
        out.push(
          `${server.name} ${perRequest.toFixed(3)} ms (system ${system.toFixed(3)}, PostgreSQL ${database.toFixed(3)}; ${rps} req/s)`,
        );
      }
      log(`${name} slice ${i + 1}: ${out.join(', ')}`);
    }
    const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
    const a = mean(cpu.A);
    const b = mean(cpu.B);
    const wins = cpu.A.filter((x, i) => cpu.B[i] < x).length;
    log(
      `${name}: A ${a.toFixed(3)} → B ${b.toFixed(3)} CPU ms/request (${(((b - a) / a) * 100).toFixed(1)} %; B lower in ${wins} of ${SLICES} slices)`,
    );
    process.stdout.write(
      `${JSON.stringify({ workload: name, A: cpu.A.map((x) => +x.toFixed(3)), B: cpu.B.map((x) => +x.toFixed(3)), meanA: +a.toFixed(3), meanB: +b.toFixed(3) })}\n`,
    );
  }
} finally {
  for (const server of servers) await server.stop();
  await db.close?.();
}
