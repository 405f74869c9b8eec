#!/usr/bin/env bash
# The README's quick start, as a new user runs it: npm start on the embedded PostgreSQL, seed, a token
# from the CLI, a nested query with curl; then the REST quick start (API key → token → /api/v1). Uses its
# own DATA_DIR and ports so it never touches .data/.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATA_DIR="$(mktemp -d)"
export PORT="${SMOKE_PORT:-4587}"
export EMBEDDED_PG_PORT="${SMOKE_PG_PORT:-54387}"
unset DATABASE_URL APP_DATABASE_URL
log="$DATA_DIR/gateway.log"
# Its own process group, so stopping it reaches node (and the embedded PostgreSQL) behind npm.
setsid npm start >"$log" 2>&1 &
gateway=$!
cleanup() {
  kill -TERM -- "-$gateway" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 -- "-$gateway" 2>/dev/null || break; sleep 0.25; done
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -sf "localhost:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "localhost:$PORT/readyz" >/dev/null || { cat "$log"; echo "smoke: gateway did not become ready"; exit 1; }
npm run -s cli -- seed --json >/dev/null
TOKEN=$(npm run -s cli -- token --org demo)
body=$(curl -s "localhost:$PORT/graphql" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"query":"{ organization { slug workspaces { totalCount edges { node { environments { totalCount } } } } } }"}')
echo "smoke: $body"
echo "$body" | grep -q '"slug":"demo","workspaces":{"totalCount":2' || { echo "smoke: unexpected answer"; exit 1; }
# The REST quick start: an API key exchanged for a token (with its org id), then a documented path.
KEY=$(npm run -s cli -- apikey create --org demo --name script | head -1)
EXCHANGE=$(curl -s "localhost:$PORT/auth/token" -H 'content-type: application/json' -d "{\"api_key\":\"$KEY\"}")
T=$(node -pe 'JSON.parse(process.argv[1]).access_token' "$EXCHANGE")
ORG=$(node -pe 'JSON.parse(process.argv[1]).org_id' "$EXCHANGE")
rest=$(curl -s "localhost:$PORT/api/v1/orgs/$ORG/workspaces" -H "authorization: Bearer $T")
echo "smoke: REST $(echo "$rest" | head -c 160)…"
node -e 'const b = JSON.parse(process.argv[1]); if (b.items.length !== 2) process.exit(1)' "$rest" ||
  { echo "smoke: unexpected REST answer"; exit 1; }
curl -sf "localhost:$PORT/api/v1/openapi.json" >/dev/null || { echo "smoke: no OpenAPI document"; exit 1; }
echo "smoke: ok"
