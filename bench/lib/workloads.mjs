/**
 * The workloads, as each peer is asked for them, and how each answer is reduced to the same rows so the
 * benchmark can check, before timing, that every server returns exactly the same data.
 *
 * Each workload has, per peer, `request(target)` → {method, path, headers, body} for one target (an
 * organization's token, ids; many-organization runs rotate targets), and `rows(json)` → a canonical value.
 */
// Fresh header objects every time: autocannon writes Content-Length into the headers object it is given, and a
// shared object would carry one request's length into every later request (Node's server then answers 400, or
// 408 while it waits for bytes that never come).
const json = () => ({ 'content-type': 'application/json' });
const bearer = (token) => ({ ...json(), authorization: `Bearer ${token}` });
const gql = (token, query, variables) => ({
  method: 'POST',
  path: '/graphql',
  headers: bearer(token),
  body: JSON.stringify({ query, variables }),
});

// The gateway's query: the same as bench/nested-query.ts (the RLS on/off benchmark).
export const GATEWAY_NESTED = `{ organization { workspaces(first: 100) { totalCount edges { node { id name
  environments(first: 100) { totalCount edges { node { id slug tier } } }
  components(first: 100) { totalCount edges { node { id name type } } } } } } } }`;

// PostGraphile's schema for the same tables (amber + simplify-inflection): the primary key (org_id, id) makes
// `id` `rowId` (amber keeps `id` for the Node interface), and relations over the composite foreign key
// (org_id, workspace_id) keep their column names. PRIMARY_KEY_ASC = (org_id, id): the gateway's order by id.
const POSTGRAPHILE_NESTED = `query($org: UUID!) { organization(rowId: $org) {
  workspaces: workspacesByOrgId(first: 100, orderBy: PRIMARY_KEY_ASC) { totalCount edges { node { id: rowId name
    environments: environmentsByOrgIdAndWorkspaceId(first: 100, orderBy: PRIMARY_KEY_ASC) { totalCount edges { node { id: rowId slug tier } } }
    components: componentsByOrgIdAndWorkspaceId(first: 100, orderBy: PRIMARY_KEY_ASC) { totalCount edges { node { id: rowId name type } } } } } } } }`;

// The gateway's ids are global (Relay: base64url of `Type:uuid`, src/graphql/node.ts) and its enum values upper
// case; the peers take raw uuids and stored values.
const globalId = (type, id) => Buffer.from(`${type}:${id}`, 'utf8').toString('base64url');

const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
function connection(c, fields) {
  return {
    totalCount: c.totalCount,
    items: c.edges.map(({ node }) => Object.fromEntries(fields.map((f) => [f, node[f]]))).sort(byId),
  };
}
/** The nested answer reduced to sets of (id, name) / (id, slug, tier) / (id, name, type) with their totalCounts. */
function nestedRows(body) {
  const workspaces = body.data.organization.workspaces;
  return {
    totalCount: workspaces.totalCount,
    items: workspaces.edges
      .map(({ node }) => ({
        id: node.id,
        name: node.name,
        environments: connection(node.environments, ['id', 'slug', 'tier']),
        components: connection(node.components, ['id', 'name', 'type']),
      }))
      .sort(byId),
  };
}

export const WORKLOADS = {
  W1: {
    title: 'W1 nested (org → workspaces → environments + components, with totalCounts)',
    peers: {
      gateway: { request: (t) => gql(t.token, GATEWAY_NESTED), rows: nestedRows },
      postgraphile: { request: (t) => gql(t.token, POSTGRAPHILE_NESTED, { org: t.orgId }), rows: nestedRows },
      limit: { request: (t) => ({ method: 'GET', path: '/organization', headers: bearer(t.token) }), rows: nestedRows },
    },
  },
  W2: {
    title: 'W2 point (workspace by id)',
    peers: {
      gateway: {
        request: (t) =>
          gql(t.token, `query($id: ID!) { workspace(id: $id) { id name description } }`, {
            id: globalId('Workspace', t.workspaceId),
          }),
        rows: (b) => b.data.workspace,
      },
      postgraphile: {
        request: (t) =>
          gql(
            t.token,
            `query($org: UUID!, $id: UUID!) { workspace(orgId: $org, rowId: $id) { id: rowId name description } }`,
            {
              org: t.orgId,
              id: t.workspaceId,
            },
          ),
        rows: (b) => b.data.workspace,
      },
      limit: {
        request: (t) => ({ method: 'GET', path: `/workspaces/${t.workspaceId}`, headers: bearer(t.token) }),
        rows: (b) => b.data.workspace,
      },
    },
  },
  W3: {
    title: 'W3 write (create a component)',
    writes: true,
    peers: {
      gateway: {
        request: (t) =>
          gql(
            t.token,
            `mutation($i: CreateComponentInput!) { createComponent(input: $i) { id name type workspaceId } }`,
            {
              i: { workspaceId: globalId('Workspace', t.workspaceId), name: 'Bench component', type: 'AGENT' },
            },
          ),
        rows: (b) => b.data.createComponent,
      },
      postgraphile: {
        request: (t) =>
          gql(
            t.token,
            `mutation($c: ComponentInput!) { createComponent(input: { component: $c }) { component { id: rowId name type workspaceId } } }`,
            { c: { orgId: t.orgId, workspaceId: t.workspaceId, name: 'Bench component', type: 'agent' } },
          ),
        rows: (b) => b.data.createComponent.component,
      },
      limit: {
        request: (t) => ({
          method: 'POST',
          path: '/components',
          headers: bearer(t.token),
          body: JSON.stringify({ workspaceId: t.workspaceId, name: 'Bench component', type: 'agent' }),
        }),
        rows: (b) => b.data.createComponent,
      },
    },
  },
  W4: {
    title: 'W4 POST /auth/token (API key → JWT)',
    // PostGraphile has no API-key exchange (its JWT story is a SQL function returning a jwt_token type), and the
    // limit would need the cross-tenant key lookup through the owner login plus the shared rate limiter to be
    // the same thing: W4 is reported for the gateway alone, as an absolute figure.
    peers: {
      gateway: {
        request: (t) => ({
          method: 'POST',
          path: '/auth/token',
          headers: json(),
          body: JSON.stringify({ api_key: t.apiKey }),
        }),
        rows: (b) => ({
          token_type: b.token_type,
          scope: b.scope.split(' ').sort().join(' '),
          expires_in: b.expires_in > 0,
        }),
      },
    },
  },
};

/** For the fan-out table: the nested query on an organization of the given shape. */
export const FANOUT = WORKLOADS.W1;
