/**
 * Peer: the limit. What a hand-written server does for the same answers under the same rules, with nothing
 * in between: node:http + pg, the same ES256 JWT (jose), the same tenant transaction (serving login → SET LOCAL
 * ROLE manifest_app, the same set_config settings, READ ONLY for reads), the same caller check as the gateway's
 * first statement (the organization row and the caller's membership: not a member → 401, archived → 403,
 * suspended → 403 for writes), and one hand-written statement per request that returns the response's JSON
 * ready-made. Three round trips per request: BEGIN + settings (one simple-protocol message), the statement,
 * COMMIT. No GraphQL: a route per workload.
 *
 *   GET  /organization           W1: org → workspaces(first 100) → environments + components (first 100), totalCounts
 *   GET  /workspaces/:id         W2: { id name description }
 *   POST /components             W3: {"workspaceId", "name", "type"} → { id name type workspaceId }
 *   GET  /__bench/sql            round trips sent so far (the benchmark's counter)
 */
import http from 'node:http';
import pg from 'pg';
import { announce, benchEndpoint, countQueries, tenantSettings, tokenVerifier } from './common.mjs';

const verify = await tokenVerifier();
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });
const counter = countQueries(pool);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TYPES = new Set(['agent', 'workflow', 'code_block', 'hosted_service']);
const PAGE = 100;

/** The gateway's caller check (graphql/loaders.ts caller()), as a CTE every statement starts with. */
const CALLER = `caller AS (
  SELECT o.status, m.role, m.all_workspaces_role FROM organizations o
    LEFT JOIN org_members m ON m.org_id = o.id AND m.user_id = $2 WHERE o.id = $1)`;

const childPage = (table, fields) => `(SELECT json_build_object(
    'totalCount', (SELECT count(*) FROM ${table} t WHERE t.org_id = $1 AND t.workspace_id = w.id),
    'edges', coalesce(json_agg(json_build_object('node', json_build_object(${fields.map((f) => `'${f}', c.${f}`).join(', ')})) ORDER BY c.id), '[]'))
  FROM (SELECT ${fields.join(', ')} FROM ${table} t WHERE t.org_id = $1 AND t.workspace_id = w.id ORDER BY t.id LIMIT ${PAGE}) c)`;

const NESTED = `WITH ${CALLER}
SELECT c.status, c.role, CASE WHEN c.role IS NOT NULL AND c.status <> 'archived' THEN (
  SELECT json_build_object('workspaces', json_build_object(
    'totalCount', (SELECT count(*) FROM workspaces WHERE org_id = $1),
    'edges', coalesce(json_agg(json_build_object('node', json_build_object('id', w.id, 'name', w.name,
      'environments', ${childPage('environments', ['id', 'slug', 'tier'])},
      'components', ${childPage('components', ['id', 'name', 'type'])})) ORDER BY w.id), '[]')))::text
  FROM (SELECT id, name FROM workspaces WHERE org_id = $1 ORDER BY id LIMIT ${PAGE}) w) END AS result
FROM caller c`;

const POINT = `WITH ${CALLER}
SELECT c.status, c.role, CASE WHEN c.role IS NOT NULL AND c.status <> 'archived' THEN (
  SELECT json_build_object('id', id, 'name', name, 'description', description)::text FROM workspaces WHERE org_id = $1 AND id = $3
) END AS result FROM caller c`;

// The gateway's rule for creating a component: a workspace the caller sees (RLS), and the developer role there
// (org owners/admins and cross-workspace grants have it everywhere). PostgreSQL 18's uuidv7(): time-ordered ids
// like the gateway's.
const CREATE = `WITH ${CALLER},
allowed AS (
  SELECT 1 FROM caller c, workspaces w WHERE w.org_id = $1 AND w.id = $3 AND c.role IS NOT NULL AND c.status = 'active'
    AND (c.role IN ('owner', 'admin') OR c.all_workspaces_role IN ('admin', 'developer')
         OR EXISTS (SELECT 1 FROM workspace_members wm WHERE wm.org_id = $1 AND wm.workspace_id = $3 AND wm.user_id = $2
                    AND wm.role IN ('admin', 'developer')))),
created AS (
  INSERT INTO components (org_id, id, workspace_id, type, name) SELECT $1, uuidv7(), $3, $4, $5 FROM allowed
  RETURNING id, name, type, workspace_id)
SELECT c.status, c.role, (SELECT json_build_object('id', id, 'name', name, 'type', type, 'workspaceId', workspace_id)::text FROM created) AS result
FROM caller c`;

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
const error = (res, status, code, message) =>
  send(res, status, JSON.stringify({ errors: [{ message, extensions: { code } }] }));

/** BEGIN [READ ONLY]; SET LOCAL ROLE; set_config ×3 — one round trip (simple protocol; values checked or escaped). */
function begin(client, identity, readOnly) {
  const s = tenantSettings(identity);
  return client.query(
    `BEGIN${readOnly ? ' READ ONLY' : ''}; SET LOCAL ROLE ${s.role}; SELECT set_config('app.org_id', '${s['app.org_id']}', true), ` +
      `set_config('app.user_id', ${client.escapeLiteral(s['app.user_id'])}, true), set_config('app.principal_kind', '${s['app.principal_kind']}', true)`,
  );
}

async function inTenant(identity, readOnly, sql, params) {
  const client = await pool.connect();
  let broken = false;
  try {
    await begin(client, identity, readOnly);
    const { rows } = await client.query(sql, [identity.orgId, identity.userId ?? '', ...params]);
    await client.query('COMMIT');
    return rows[0];
  } catch (e) {
    broken = true;
    await client.query('ROLLBACK').then(
      () => (broken = false),
      () => undefined,
    );
    throw e;
  } finally {
    client.release(broken);
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function handle(req, res) {
  if (benchEndpoint(req, res, counter)) return;
  const identity = await verify(req.headers.authorization);
  if (!identity) return error(res, 401, 'UNAUTHENTICATED', 'invalid or missing token');
  // Only API-key principals the benchmark does not use would need the key check; refuse them rather than fake it.
  if (identity.kind !== 'user') return error(res, 401, 'UNAUTHENTICATED', 'API-key tokens are not served by the limit');
  let row;
  let field;
  if (req.method === 'GET' && req.url === '/organization') {
    field = 'organization';
    row = await inTenant(identity, true, NESTED, []);
  } else if (req.method === 'GET' && req.url.startsWith('/workspaces/')) {
    const id = req.url.slice('/workspaces/'.length);
    if (!UUID.test(id)) return error(res, 404, 'NOT_FOUND', 'no such workspace');
    field = 'workspace';
    row = await inTenant(identity, true, POINT, [id]);
  } else if (req.method === 'POST' && req.url === '/components') {
    let input;
    try {
      input = JSON.parse(await readBody(req));
    } catch {
      return error(res, 400, 'BAD_USER_INPUT', 'body must be JSON');
    }
    const name = typeof input?.name === 'string' ? input.name.trim() : '';
    if (!UUID.test(input?.workspaceId ?? '') || !TYPES.has(input?.type) || name.length < 1 || name.length > 200) {
      return error(res, 400, 'BAD_USER_INPUT', 'workspaceId (uuid), type and name (1-200) are required');
    }
    field = 'createComponent';
    row = await inTenant(identity, false, CREATE, [input.workspaceId, input.type, name]);
    if (row && row.role && row.status === 'suspended')
      return error(res, 403, 'ORG_SUSPENDED', 'organization is suspended');
  } else {
    return error(res, 404, 'NOT_FOUND', 'no such route');
  }
  if (!row) return error(res, 401, 'UNAUTHENTICATED', 'the organization of this token does not exist');
  if (!row.role) return error(res, 401, 'UNAUTHENTICATED', 'not a member of this organization');
  if (row.status === 'archived') return error(res, 403, 'ORG_ARCHIVED', 'organization is archived');
  if (row.result == null) return error(res, 404, 'NOT_FOUND', 'not found');
  send(res, 200, `{"data":{"${field}":${row.result}}}`);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(e);
    if (!res.headersSent) error(res, 500, 'INTERNAL_SERVER_ERROR', 'internal error');
  });
});
server.keepAliveTimeout = 60_000;
announce(server);
