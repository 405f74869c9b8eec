#!/usr/bin/env node
// Exchange an API key for a short-lived token, then run a mutation with it. Only `fetch` (Node 18+).
//
//   MANIFEST_API_KEY=fl_… MANIFEST_URL=http://localhost:4000 node examples/exchange-and-mutate.mjs "My workspace"
//
// Prints the created workspace as JSON; exits non-zero with the server's error otherwise.
const base = process.env.MANIFEST_URL ?? 'http://localhost:4000';
const apiKey = process.env.MANIFEST_API_KEY;
const name = process.argv[2] ?? 'Created by a script';
if (!apiKey) {
  console.error('set MANIFEST_API_KEY (create one with: npm run cli -- apikey create --org <slug> --name ci)');
  process.exit(2);
}

const exchange = await fetch(`${base}/auth/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ api_key: apiKey }),
});
const token = await exchange.json();
if (!exchange.ok) {
  console.error(`token exchange refused (${exchange.status}): ${token.error}: ${token.error_description}`);
  process.exit(1);
}

const response = await fetch(`${base}/graphql`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `${token.token_type} ${token.access_token}` },
  body: JSON.stringify({
    query: 'mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id name } }',
    variables: { input: { name } },
  }),
});
const result = await response.json();
if (result.errors?.length) {
  console.error(`mutation failed: ${result.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; ')}`);
  process.exit(1);
}
console.log(JSON.stringify(result.data.createWorkspace));
