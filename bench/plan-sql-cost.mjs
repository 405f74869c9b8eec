// PostgreSQL's own cost of the compiled read path's W1 statement (bench/README.md "Prepared plans and counts").
// Usage, under the bench lock (it uses the bench's embedded PostgreSQL):
//   flock /tmp/bench.lock node bench/plan-sql-cost.mjs <other build dir, e.g. a worktree of main> [rounds]
// Seeds the bench data (1 organization × 20 workspaces × (10 + 10)), starts this build's gateway and the other
// build's with LOG_LEVEL=trace, takes each one's planned W1 statement from its SQL log, then runs, as the serving
// login under the tenant role and RLS, alternated rounds of: the other build's statement with literals, this
// build's with literals, this build's as a prepared statement (EXECUTE), and the same with plain uuids instead
// of global ids and cursors (what lever 3 could save at most). Prints EXPLAIN ANALYZE planning/execution times
// and the client-side wall time per execution.
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { ROOT, createDatabase, createOrgs, seedTrees } from './lib/data.mjs';
import { GATEWAY_NESTED } from './lib/workloads.mjs';

const require = createRequire(import.meta.url);
const other = path.resolve(process.argv[2] ?? '');
const rounds = Number(process.argv[3] ?? 5);
const PER_ROUND = 50;

async function plannedSql(dir, db, orgId) {
  const { startGateway } = require(path.join(dir, 'dist/test/support/gateway.js'));
  let sql;
  const gw = await startGateway({
    databaseUrl: db.ownerUrl,
    env: { LOG_LEVEL: 'trace', APP_DATABASE_URL: db.servingUrl, GRAPHQL_SQL_PLAN: 'on' },
    onLog(line) {
      const at = line.indexOf('SELECT json_build_object(');
      if (at < 0) return;
      try {
        const text = JSON.parse(line).sql;
        sql ??= text.slice(text.indexOf('SELECT json_build_object('));
      } catch {
        /* not a log line */
      }
    },
  });
  try {
    const answer = await gw.graphql(GATEWAY_NESTED, {}, gw.token(orgId));
    if (answer.body.errors) throw new Error(JSON.stringify(answer.body.errors));
  } finally {
    await gw.stop();
  }
  if (!sql) throw new Error(`no planned statement logged by ${dir}`);
  return sql;
}

const db = await createDatabase();
try {
  const [org] = await createOrgs(db.admin, 'cost', 1);
  await seedTrees(db.admin, [org.id], { workspaces: 20, environments: 10, components: 10 });
  const base = await plannedSql(other, db, org.id);
  const traced = await plannedSql(ROOT, db, org.id);
  if (!traced.includes('$1')) throw new Error('this build logged literals, not the parameterised text');
  // $1 the organization, then (first, first + 1, after) per connection: the planner's binder order.
  const count = Math.max(...[...traced.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  const types = Array.from({ length: count }, (_, i) => (i === 0 ? 'uuid' : (i - 1) % 3 === 2 ? 'uuid' : 'int4'));
  const values = types.map((type, i) =>
    i === 0 ? `'${org.id}'::uuid` : type === 'uuid' ? 'NULL::uuid' : (i - 1) % 3 === 0 ? '100' : '101',
  );
  const literal = traced.replace(/\$(\d+)/g, (_, n) => values[Number(n) - 1]);
  const plain = (sql) =>
    sql.replace(/translate\(encode\(\('[^']*' \|\| (.*?)::text\)::bytea, 'base64'\), E'\+\/=\\n', '-_'\)/g, '$1::text');
  const client = new pg.Client({ connectionString: db.servingUrl });
  client.on('error', () => undefined);
  await client.connect();
  await client.query(`PREPARE w1(${types.join(', ')}) AS ${traced}`);
  await client.query(`PREPARE w1plain(${types.join(', ')}) AS ${plain(traced)}`);
  const execute = `EXECUTE w1(${values.join(', ')})`;
  const variants = {
    'main, literals': base,
    'this build, literals': literal,
    'this build, prepared': execute,
    'this build, prepared, plain uuids': `EXECUTE w1plain(${values.join(', ')})`,
  };
  const open = `BEGIN READ ONLY; SET LOCAL ROLE manifest_app; SELECT set_config('app.org_id', '${org.id}', true), set_config('app.user_id', 'user-1', true), set_config('app.principal_kind', 'user', true)`;
  const wall = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const explain = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, sql] of Object.entries(variants)) {
      await client.query(open);
      for (let i = 0; i < PER_ROUND; i++) {
        const started = process.hrtime.bigint();
        await client.query(sql);
        wall[name].push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      const [
        {
          'QUERY PLAN': [plan],
        },
      ] = (await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`)).rows;
      explain[name].push([plan['Planning Time'], plan['Execution Time']]);
      await client.query('COMMIT');
    }
  }
  // The generic plan (after the runs above) still carries the RLS policies: their current_setting filters.
  await client.query(open);
  const used = (await client.query(`EXPLAIN (VERBOSE) ${execute}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
  await client.query('COMMIT');
  const policyFilters = (text) => (text.match(/current_setting\('app\.org_id'/g) ?? []).length;
  console.log(
    `policy filters (current_setting('app.org_id')) in the plan EXECUTE uses: ${policyFilters(used)}; generic plan's parameters left unbound: ${/\$1\b/.test(used)}`,
  );
  const { rows } = await client.query(`SELECT name, generic_plans, custom_plans FROM pg_prepared_statements`);
  await client.end();
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`W1 statement, ${rounds} alternated rounds × ${PER_ROUND} executions (medians, ms)`);
  console.log('| variant | wall per execution | EXPLAIN ANALYZE planning | execution |');
  console.log('|---|---:|---:|---:|');
  for (const name of Object.keys(variants))
    console.log(
      `| ${name} | ${median(wall[name]).toFixed(2)} | ${median(explain[name].map((e) => e[0])).toFixed(2)} | ${median(explain[name].map((e) => e[1])).toFixed(2)} |`,
    );
  console.log('prepared statements:', JSON.stringify(rows));
  console.log('equal answers:', JSON.stringify(await answersEqual()));
  async function answersEqual() {
    const c = new pg.Client({ connectionString: db.servingUrl });
    await c.connect();
    await c.query(open);
    const a = (await c.query(base)).rows[0].data;
    const b = (await c.query(literal)).rows[0].data;
    await c.query('COMMIT');
    await c.end();
    return JSON.stringify(a) === JSON.stringify(b);
  }
} finally {
  await db.close();
}
