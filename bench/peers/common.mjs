/**
 * What both peers (PostGraphile and the limit) share with the gateway: the same ES256 public key, the same
 * JWT rules (issuer, audience, pinned algorithm, required claims) and the same transaction-local settings
 * as src/db/tenant-scope.ts, so row-level security decides exactly as it does for the gateway.
 */
import { importJWK, jwtVerify } from 'jose';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function tokenVerifier() {
  const jwk = JSON.parse(process.env.BENCH_JWT_PUBLIC_JWK);
  const key = await importJWK(jwk, 'ES256');
  const issuer = process.env.BENCH_JWT_ISSUER ?? 'manifest-gateway';
  const audience = process.env.BENCH_JWT_AUDIENCE ?? 'manifest-gateway';
  /** Authorization header → identity, or null (→ 401). */
  return async function verify(header) {
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec((header ?? '').trim());
    if (!match) return null;
    try {
      const { payload } = await jwtVerify(match[1], key, {
        issuer,
        audience,
        algorithms: ['ES256'],
        clockTolerance: 5,
        requiredClaims: ['exp', 'sub', 'org'],
      });
      if (!UUID.test(payload.org) || typeof payload.sub !== 'string' || !payload.sub) return null;
      const apiKey = payload.sub.startsWith('apikey:');
      const userId = apiKey ? (typeof payload.key_owner === 'string' ? payload.key_owner : null) : payload.sub;
      return { orgId: payload.org.toLowerCase(), userId, kind: apiKey ? 'api_key' : 'user' };
    } catch {
      return null;
    }
  };
}

/** Exactly the settings src/db/tenant-scope.ts sets (plus the role it switches to). */
export function tenantSettings(identity) {
  return {
    role: 'manifest_app',
    'app.org_id': identity.orgId,
    'app.user_id': identity.userId ?? '',
    'app.principal_kind': identity.kind === 'api_key' && !identity.userId ? 'api_key' : 'user',
  };
}

/** Counts round trips (client.query calls) of every pooled connection: the benchmark reads it between probes. */
export function countQueries(pool) {
  const counter = { statements: 0 };
  pool.on('connect', (client) => {
    const query = client.query;
    client.query = function countedQuery(...args) {
      counter.statements++;
      return query.apply(this, args);
    };
  });
  return counter;
}

/** The benchmark's side door: GET /__bench/sql → {"statements": n}. */
export function benchEndpoint(req, res, counter) {
  if (req.url !== '/__bench/sql') return false;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ statements: counter.statements }));
  return true;
}

export function announce(server) {
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ msg: 'listening', port: server.address().port })}\n`);
  });
}
