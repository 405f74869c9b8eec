#!/usr/bin/env node
/**
 * Self time of a V8 CPU profile (`--cpu-prof`, as BENCH_PROFILE=1 writes it) summed by bucket: garbage
 * collection, node internals, each dependency, our own code. With the number of requests the profiled server
 * answered (BENCH_PROFILE runs record it in results.json), also ms of CPU per request.
 *
 *   node bench/profile-summary.mjs <file.cpuprofile> [requests]
 *   node bench/profile-summary.mjs <file.cpuprofile> bench/results.json   # requests from the gateway's runs
 *
 * `--top N` also lists the N functions with the most self time.
 */
import fs from 'node:fs';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 0;
const [file, requestsArg] = args;
if (!file) {
  console.error('usage: profile-summary.mjs <file.cpuprofile> [requests | results.json] [--top N]');
  process.exit(2);
}

function requestsOf(arg) {
  if (!arg) return null;
  if (/^\d+$/.test(arg)) return Number(arg);
  const results = JSON.parse(fs.readFileSync(arg, 'utf8'));
  let total = 0;
  for (const workload of Object.values(results)) {
    const gateway = workload?.peers?.gateway;
    if (!gateway) continue;
    // warm-up + timed rounds + fixed-rate run + 10 SQL-probe requests + up to 3 same-rows checks
    total += (gateway.warmupRequests ?? 0) + gateway.rounds.reduce((n, r) => n + r.requests, 0);
    total += (gateway.fixedRateRequests ?? 0) + 10 + 3;
  }
  return total;
}

const BUCKETS = [
  ['(garbage collector)', (n) => n.callFrame.functionName === '(garbage collector)'],
  ['(idle)', (n) => n.callFrame.functionName === '(idle)'],
  ['(program)', (n) => n.callFrame.functionName === '(program)'],
  ['graphql-js execute', (n, u) => /node_modules\/graphql\/execution\//.test(u)],
  ['graphql-js instanceOf (dev mode)', (n, u) => /node_modules\/graphql\/jsutils\/instanceOf/.test(u)],
  ['graphql-js other', (n, u) => /node_modules\/graphql\//.test(u)],
  ['apollo server', (n, u) => /node_modules\/@apollo\//.test(u)],
  ['as-integrations/express5', (n, u) => /node_modules\/@as-integrations\//.test(u)],
  ['graphql-armor', (n, u) => /node_modules\/@escape\.tech\//.test(u)],
  ['graphql-tools', (n, u) => /node_modules\/@graphql-tools\//.test(u)],
  ['type-graphql', (n, u) => /node_modules\/type-graphql\//.test(u)],
  ['class-validator', (n, u) => /node_modules\/class-validator\//.test(u)],
  ['typeorm', (n, u) => /node_modules\/typeorm\//.test(u)],
  ['pg driver', (n, u) => /node_modules\/(pg|pg-protocol|pg-types|pg-pool|postgres-\w+)\//.test(u)],
  ['jose', (n, u) => /node_modules\/jose\//.test(u)],
  ['lru-cache', (n, u) => /node_modules\/lru-cache\//.test(u)],
  ['dataloader', (n, u) => /node_modules\/dataloader\//.test(u)],
  [
    'express + body-parser',
    (n, u) =>
      /node_modules\/(express|body-parser|router|raw-body|iconv-lite|type-is|send|finalhandler|on-finished|qs|content-type|mime-\w+|negotiator|accepts|media-typer)\//.test(
        u,
      ),
  ],
  ['prom-client', (n, u) => /node_modules\/prom-client\//.test(u)],
  ['pino', (n, u) => /node_modules\/pino/.test(u)],
  ['other node_modules', (n, u) => /node_modules\//.test(u)],
  ['project code (dist/src)', (n, u) => /\/dist\/src\//.test(u)],
  [
    'node:crypto (random bytes, hashes, WebCrypto: see the top functions)',
    (n, u) => /^node:internal\/crypto\//.test(u),
  ],
  [
    'node:http / net / streams',
    (n, u) => /^node:(_http|http|net|stream|internal\/streams|internal\/http|_stream)/.test(u),
  ],
  [
    'node:async_hooks / timers / events',
    (n, u) =>
      /^node:(async_hooks|internal\/async_hooks|internal\/timers|timers|events|internal\/process\/task_queues)/.test(u),
  ],
  ['node internals (other)', (n, u) => /^node:/.test(u)],
  ['native / (anonymous builtins)', () => true],
];

const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
// Start-up (module loading, schema build) is not request work: samples before the first one inside node's
// HTTP server (the first request) are left out, so ms per request is the serving cost only.
const servingMemo = new Map();
function serving(id) {
  if (!servingMemo.has(id)) {
    const url = byId.get(id).callFrame.url ?? '';
    servingMemo.set(id, url === 'node:_http_server' || (parentOf.has(id) && serving(parentOf.get(id))));
  }
  return servingMemo.get(id);
}
const selfUs = new Map();
let started = false;
let startupUs = 0;
// timeDeltas[i] is the time before sample i; attribute it to that sample's node.
for (let i = 0; i < profile.samples.length; i++) {
  const dt = Math.max(0, profile.timeDeltas[i] ?? 0);
  started ||= serving(profile.samples[i]);
  if (!started) {
    startupUs += dt;
    continue;
  }
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
}
const buckets = new Map();
const functions = new Map();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  const url = node.callFrame.url ?? '';
  const [name] = BUCKETS.find(([, test]) => test(node, url));
  buckets.set(name, (buckets.get(name) ?? 0) + us);
  const fn = `${node.callFrame.functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${node.callFrame.lineNumber + 1}`;
  functions.set(fn, (functions.get(fn) ?? 0) + us);
}
const requests = requestsOf(requestsArg);
const busyUs = [...buckets].filter(([k]) => k !== '(idle)').reduce((s, [, v]) => s + v, 0);
const rows = [...buckets].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
const ms = (us) => (us / 1000).toFixed(1);
console.log(`profile ${file} (start-up before the first request left out: ${(startupUs / 1000).toFixed(0)} ms)`);
console.log(
  `busy CPU ${ms(busyUs)} ms (idle ${ms(buckets.get('(idle)') ?? 0)} ms)${requests ? `, ${requests} requests` : ''}`,
);
console.log(`| bucket | CPU ms | % of busy |${requests ? ' ms per request |' : ''}`);
console.log(`|---|---:|---:|${requests ? '---:|' : ''}`);
for (const [name, us] of [...rows, ['**total (busy)**', busyUs]]) {
  const per = requests ? ` ${(us / 1000 / requests).toFixed(3)} |` : '';
  console.log(`| ${name} | ${ms(us)} | ${((100 * us) / busyUs).toFixed(1)} |${per}`);
}
if (top) {
  console.log(`\ntop ${top} functions by self time:`);
  for (const [fn, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${ms(us).padStart(9)} ms  ${((100 * us) / busyUs).toFixed(1).padStart(5)} %  ${fn}`);
  }
}
