#!/usr/bin/env bash
# The REST API from a shell, as a CI job would use it: exchange an API key for a token, create a workspace,
# an environment and a hosted service, create two deployment rings, deploy the service to the first ring and
# promote it to the second. Needs bash, curl and node (for JSON; jq is not required).
#
#   GATEWAY_URL=http://localhost:4000 API_KEY=fl_… examples/rest.sh
#
# The key needs the scopes workspaces:read, workspaces:write, components:read, components:write and
# deployments:write (and its owner the role to use them). Every step prints what it got; any HTTP error
# stops the script with the problem document (application/problem+json) the API answered.
set -euo pipefail

: "${API_KEY:?set API_KEY to an API key (fl_…)}"
GATEWAY_URL="${GATEWAY_URL:-http://localhost:4000}"
API="$GATEWAY_URL/api/v1"
SUFFIX="${SUFFIX:-$(date +%s)}"

# json FIELD.PATH < document: prints one field of a JSON document (node, so no jq is needed).
json() {
  node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const v = process.argv[1].split(".").reduce((o, k) => (o == null ? o : o[k]), JSON.parse(s));
      if (v === undefined || v === null) { console.error(`no ${process.argv[1]} in ${s}`); process.exit(1); }
      console.log(typeof v === "object" ? JSON.stringify(v) : v);
    });' "$1"
}

# call METHOD PATH [JSON BODY]: the answer's body on stdout; an HTTP status >= 400 stops the script.
call() {
  local method="$1" path="$2" body="${3:-}" out status
  out="$(mktemp)"
  if [ -n "$body" ]; then
    status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$API$path" \
      -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' --data "$body")
  else
    status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$API$path" -H "authorization: Bearer $TOKEN")
  fi
  if [ "$status" -ge 400 ]; then
    echo "rest.sh: $method $path answered $status: $(cat "$out")" >&2
    rm -f "$out"
    exit 1
  fi
  cat "$out"
  rm -f "$out"
}

# 1. The API key → a short-lived bearer token (POST /auth/token, the one unauthenticated operation).
exchange="$(curl -sS -X POST "$GATEWAY_URL/auth/token" -H 'content-type: application/json' \
  --data "{\"api_key\":\"$API_KEY\"}")"
TOKEN="$(echo "$exchange" | json access_token)" || { echo "rest.sh: token exchange refused: $exchange" >&2; exit 1; }
# The key's organization (the path's {org_id}), returned with the token.
ORG_ID="$(echo "$exchange" | json org_id)"
echo "organization: $ORG_ID"

# 2. A workspace.
WS_ID="$(call POST "/orgs/$ORG_ID/workspaces" "{\"name\":\"Shop $SUFFIX\"}" | json id)"
WS="/orgs/$ORG_ID/workspaces/$WS_ID"
echo "workspace: $WS_ID"

# 3. An environment of it.
ENV_ID="$(call POST "$WS/environments" '{"name":"Production","slug":"prod","tier":"prod"}' | json id)"
echo "environment: $ENV_ID"

# 4. A hosted service (the documented alias of /components/hosted-services).
SERVICE_ID="$(call POST "$WS/hosted-services" '{"name":"checkout-api","configuration":{"port":8080}}' | json id)"
echo "hosted service: $SERVICE_ID"

# 5. Two deployment rings on that environment: canary (position 0), then general.
CANARY_ID="$(call POST "$WS/deployments/rings" "{\"name\":\"canary\",\"environment_id\":\"$ENV_ID\"}" | json id)"
GENERAL_ID="$(call POST "$WS/deployments/rings" "{\"name\":\"general\",\"environment_id\":\"$ENV_ID\"}" | json id)"
echo "rings: canary $CANARY_ID, general $GENERAL_ID"

# 6. Deploy version 1.0.0 of the service to the first ring.
DEPLOYED="$(call POST "$WS/deployments/rings/$CANARY_ID/deployments" \
  "{\"component_id\":\"$SERVICE_ID\",\"version\":\"1.0.0\"}")"
echo "deployed: $(echo "$DEPLOYED" | json version) into canary"

# 7. Promote it from canary into the next ring.
PROMOTED="$(call POST "$WS/deployments/rings/$GENERAL_ID/promotions" \
  "{\"component_id\":\"$SERVICE_ID\",\"from_ring_id\":\"$CANARY_ID\",\"version\":\"1.0.0\"}")"
echo "promoted: $(echo "$PROMOTED" | json version) into general ($(echo "$PROMOTED" | json id))"

# 8. What is in the second ring now.
echo "general ring: $(call GET "$WS/deployments/rings/$GENERAL_ID/deployments" | json items)"
