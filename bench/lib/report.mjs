/** bench/results.json (every figure) and bench/results.md (the table), from one run. */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './data.mjs';

const ratio = (a, b) => (a && b ? Number((a / b).toFixed(2)) : null);
const fmt = (v, digits = 1) =>
  v === null || v === undefined ? 'n/a' : typeof v === 'number' ? String(Number(v.toFixed(digits))) : String(v);
const PEERS = ['gateway', 'postgraphile', 'limit'];
const EXTRA = ['gateway-dev'];

export function writeReports({ settings, results, fanout, rss, rssWithFanout, failures }) {
  const json = { settings, failures, peakRssMb: rss, peakRssMbWithFanout: rssWithFanout };
  for (const [name, r] of Object.entries(results)) {
    const g = r.peers.gateway;
    json[name] = {
      title: r.title,
      'gateway/postgraphile': ratio(g?.rps, r.peers.postgraphile?.rps),
      'gateway/limit': ratio(g?.rps, r.peers.limit?.rps),
      fixedRate: r.fixedRate,
      peers: r.peers,
    };
  }
  json.fanout = fanout;

  const lines = [];
  const s = settings;
  lines.push(`# Benchmark results`, '');
  if (failures.length) {
    lines.push(
      `**FAILED: ${failures.length} timed run(s) had answers that were not 2xx or carried GraphQL errors** (figures below are still the measured ones):`,
      '',
    );
    for (const f of failures) lines.push(`- ${f}`);
    lines.push('');
  }
  lines.push(
    `${s.startedAt.slice(0, 16).replace('T', ' ')} UTC · ${s.cpus} × ${s.cpuModel} · ${s.organizations} organization(s) × ${s.shape.workspaces} workspaces × ` +
      `(${s.shape.environments} environments + ${s.shape.components} components) · ${s.connections} keep-alive connections · ` +
      `${s.rounds} alternating rounds × ${s.seconds} s (medians) · servers on CPU ${s.pinning?.servers ?? 'any'}, load generator on CPU ${s.pinning?.loadGenerator ?? 'any'} · ` +
      `gateway NODE_ENV=production on Node ${s.node.gateway}, PostGraphile on Node ${s.node.postgraphile}, limit on Node ${s.node.limit}`,
    '',
  );
  lines.push(
    '| workload | gateway req/s | PostGraphile 5 req/s | limit req/s | gateway ÷ PostGraphile | gateway ÷ limit | p50 / p99 ms at fixed rate (gateway · PostGraphile · limit) | SQL round trips / request (gateway · PostGraphile · limit) | CPU ms / request, server + PostgreSQL (gateway · PostGraphile · limit) |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|---|---|---|');
  // Medians over the rounds: the server process's CPU and every PostgreSQL process's (harness.mjs `timed`).
  const cpuOf = (x) => {
    const middle = (key) => {
      const values = (x.rounds ?? []).map((round) => round[key]).filter((v) => typeof v === 'number');
      if (!values.length) return undefined;
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)];
    };
    return `${fmt(middle('cpuMsPerRequest'), 2)} + ${fmt(middle('dbCpuMsPerRequest'), 2)}`;
  };
  for (const [name, r] of Object.entries(results)) {
    const p = (peer) => r.peers[peer];
    const cell = (peer, f) => (p(peer) ? f(p(peer)) : 'n/a');
    lines.push(
      `| ${r.title} | ${cell('gateway', (x) => fmt(x.rps))} | ${cell('postgraphile', (x) => fmt(x.rps))} | ${cell('limit', (x) => fmt(x.rps))} | ` +
        `${fmt(json[name]['gateway/postgraphile'], 2)} | ${fmt(json[name]['gateway/limit'], 2)} | at ${r.fixedRate} req/s: ` +
        `${PEERS.map((peer) => cell(peer, (x) => `${fmt(x.p50AtFixedRate)} / ${fmt(x.p99AtFixedRate)}`)).join(' · ')} | ` +
        `${PEERS.map((peer) => cell(peer, (x) => fmt(x.statementsPerRequest))).join(' · ')} | ` +
        `${PEERS.map((peer) => cell(peer, cpuOf)).join(' · ')} |`,
    );
  }
  const mb = (r) =>
    [...PEERS, ...EXTRA]
      .filter((peer) => peer in r)
      .map((peer) => `${peer} ${fmt(r[peer], 0)} MB`)
      .join(', ');
  lines.push('', `Peak RSS (VmHWM) under W1–W4: ${mb(rss)}; after the fan-out table too: ${mb(rssWithFanout)}.`, '');
  const dev = Object.entries(results).filter(([, r]) => r.peers['gateway-dev']);
  if (dev.length) {
    lines.push(
      `Gateway in development mode (NODE_ENV unset), same rounds: ${dev.map(([name, r]) => `${name} ${fmt(r.peers['gateway-dev'].rps)} req/s (production ÷ development ${fmt(ratio(r.peers.gateway?.rps, r.peers['gateway-dev'].rps), 2)})`).join(', ')}.`,
      '',
    );
  }
  lines.push(
    'Fan-out growth (the W1 query on an organization with n workspaces × (n environments + n components); sequential requests):',
    '',
  );
  lines.push(
    '| children per level | response bytes | gateway p50 ms | PostGraphile p50 ms | limit p50 ms | SQL round trips (gateway · PostGraphile · limit) |',
  );
  lines.push('|---:|---:|---:|---:|---:|---|');
  for (const row of fanout) {
    const p = row.peers;
    lines.push(
      `| ${row.children} | ${p.gateway?.responseBytes ?? 'n/a'} | ${fmt(p.gateway?.p50, 2)} | ${fmt(p.postgraphile?.p50, 2)} | ${fmt(p.limit?.p50, 2)} | ` +
        `${PEERS.map((peer) => fmt(p[peer]?.statementsPerRequest)).join(' · ')} |`,
    );
  }
  lines.push(
    '',
    'Per round (req/s): ' +
      Object.entries(results)
        .map(
          ([name, r]) =>
            `${name} ${Object.entries(r.peers)
              .map(([peer, x]) => `${peer} ${x.rounds.map((q) => q.rps).join('/')}`)
              .join(', ')}`,
        )
        .join('; ') +
      '.',
    '',
  );

  const jsonFile = path.join(ROOT, 'bench/results.json');
  const mdFile = path.join(ROOT, 'bench/results.md');
  fs.writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  fs.writeFileSync(mdFile, `${lines.join('\n')}\n`);
  return [path.relative(ROOT, jsonFile), path.relative(ROOT, mdFile)];
}
