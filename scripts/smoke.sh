#!/usr/bin/env bash
# The README's quick start, as a new user runs it: npm start on the embedded PostgreSQL, seed, a token
# from the CLI, a nested query with curl. Uses its own DATA_DIR and ports so it never touches .data/.
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
echo "smoke: ok"
