#!/usr/bin/env bash
# The same with curl and jq: exchange an API key, then create a workspace.
#   MANIFEST_API_KEY=fl_… ./examples/exchange-and-mutate.sh "My workspace"
set -euo pipefail
base="${MANIFEST_URL:-http://localhost:4000}"
token=$(curl -sf "$base/auth/token" -H 'content-type: application/json' \
  -d "{\"api_key\": \"$MANIFEST_API_KEY\"}" | jq -r .access_token)
curl -s "$base/graphql" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "$(jq -n --arg name "${1:-Created by curl}" \
        '{query: "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id name } }", variables: {input: {name: $name}}}')"
echo
