import { type GraphQLResponse } from './support/gateway';
import { createOrg, uuidOf, ok } from './support/fixtures';
import { ALL_SCOPES } from './support/scopes';
import { expectRefusedUnchanged, useGateway } from './support/harness';

/**
 * Workspace LLM proxy settings: accepted only while the organization permits workspace overrides,
 * validated field by field, for workspace admins, and invisible to other organizations.
 */
const { gw, db, org } = useGateway({ orgs: ['llm'] });
let token: string;

const UNKNOWN = '01900000-0000-7000-8000-000000000000';
const DISABLED =
  'This organization does not permit workspace LLM overrides (an org admin can enable allowWorkspaceLlmOverrides)';

beforeAll(async () => {
  token = gw.token(org.id);
});

const SETTINGS_FIELDS = `workspaceId defaultProvider defaultModel fallbackProvider fallbackModel routes { match provider model maxTokens temperature } active updatedBy`;
const SET = `mutation($w: ID!, $i: WorkspaceLlmSettingsInput!) { setWorkspaceLlmSettings(workspaceId: $w, input: $i) { ${SETTINGS_FIELDS} } }`;
const CLEAR = `mutation($w: ID!) { clearWorkspaceLlmSettings(workspaceId: $w) { id llmSettings { defaultModel } } }`;
const READ = `query($w: ID!) { workspace(id: $w) { llmSettings { ${SETTINGS_FIELDS} createdAt updatedAt } } }`;

async function allowOverrides(orgId: string, allowed: boolean): Promise<void> {
  await db.admin.query('UPDATE organizations SET allow_workspace_llm_overrides = $2 WHERE id = $1', [orgId, allowed]);
}

async function newWorkspace(as = token): Promise<string> {
  return ok<any>(await gw.graphql(`mutation { createWorkspace(input: { name: "LLM" }) { id } }`, {}, as))
    .createWorkspace.id;
}

const refused = (
  query: string,
  variables: Record<string, unknown>,
  code: string,
  fields?: string[],
  as = token,
): Promise<GraphQLResponse> => expectRefusedUnchanged(() => gw.graphql(query, variables, as), { code, fields }, db);

const valid = () => ({
  defaultProvider: 'ANTHROPIC',
  defaultModel: 'claude-sonnet-4',
  fallbackProvider: 'OPENAI',
  fallbackModel: 'gpt-4o-mini',
  routes: [
    { match: 'summarize', provider: 'OPENAI', model: 'gpt-4o', maxTokens: 4096, temperature: 0.2 },
    { match: 'support/triage', provider: 'BEDROCK', model: 'anthropic.claude-3-haiku' },
  ],
});

describe('when the organization does not permit workspace overrides', () => {
  test('setting is refused with FORBIDDEN and a message saying how to enable it; nothing is written', async () => {
    const ws = await newWorkspace();
    const response = await refused(SET, { w: ws, i: valid() }, 'FORBIDDEN');
    expect(response.body.errors![0].message).toBe(DISABLED);
    expect(ok<any>(await gw.graphql(READ, { w: ws }, token)).workspace.llmSettings).toBeNull();
  });
});

describe('with workspace overrides permitted', () => {
  let ws: string;
  beforeAll(async () => {
    await allowOverrides(org.id, true);
    ws = await newWorkspace();
  });

  test('set, read back, replace and clear', async () => {
    const set = ok<any>(
      await gw.graphql(SET, { w: ws, i: { ...valid(), defaultModel: '  claude-sonnet-4 ' } }, token),
    ).setWorkspaceLlmSettings;
    expect(set).toEqual({
      workspaceId: ws,
      defaultProvider: 'ANTHROPIC',
      defaultModel: 'claude-sonnet-4',
      fallbackProvider: 'OPENAI',
      fallbackModel: 'gpt-4o-mini',
      routes: [
        { match: 'summarize', provider: 'OPENAI', model: 'gpt-4o', maxTokens: 4096, temperature: 0.2 },
        {
          match: 'support/triage',
          provider: 'BEDROCK',
          model: 'anthropic.claude-3-haiku',
          maxTokens: null,
          temperature: null,
        },
      ],
      active: true,
      updatedBy: 'user-1',
    });
    const read = ok<any>(await gw.graphql(READ, { w: ws }, token)).workspace.llmSettings;
    expect(read).toMatchObject(set);
    const row = await db.admin.query(
      `SELECT org_id, default_model, jsonb_array_length(routes) AS routes FROM workspace_llm_settings WHERE workspace_id = $1`,
      [uuidOf(ws)],
    );
    expect(row.rows).toEqual([{ org_id: org.id, default_model: 'claude-sonnet-4', routes: 2 }]);

    // A set replaces everything: omitted routes and fallback are gone.
    const replaced = ok<any>(
      await gw.graphql(SET, { w: ws, i: { defaultProvider: 'GOOGLE', defaultModel: 'gemini-2.5-pro' } }, token),
    ).setWorkspaceLlmSettings;
    expect(replaced).toMatchObject({
      defaultProvider: 'GOOGLE',
      defaultModel: 'gemini-2.5-pro',
      fallbackProvider: null,
      fallbackModel: null,
      routes: [],
    });
    const after = ok<any>(await gw.graphql(READ, { w: ws }, token)).workspace.llmSettings;
    expect(new Date(after.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(after.createdAt).getTime());

    const cleared = ok<any>(await gw.graphql(CLEAR, { w: ws }, token)).clearWorkspaceLlmSettings;
    expect(cleared).toEqual({ id: ws, llmSettings: null });
    expect(ok<any>(await gw.graphql(READ, { w: ws }, token)).workspace.llmSettings).toBeNull();
    // Idempotent.
    expect(ok<any>(await gw.graphql(CLEAR, { w: ws }, token)).clearWorkspaceLlmSettings).toEqual({
      id: ws,
      llmSettings: null,
    });
  });

  test('the boundaries are accepted: 50 routes, temperature 0 and 2, maxTokens 1 and 200000, 100-character models', async () => {
    const routes = Array.from({ length: 50 }, (_, i) => ({
      match: `task-${i}`,
      provider: ['OPENAI', 'ANTHROPIC', 'GOOGLE', 'AZURE_OPENAI', 'BEDROCK'][i % 5],
      model: 'm'.repeat(100),
      maxTokens: i % 2 ? 1 : 200000,
      temperature: i % 2 ? 0 : 2,
    }));
    const set = ok<any>(
      await gw.graphql(
        SET,
        { w: ws, i: { defaultProvider: 'AZURE_OPENAI', defaultModel: 'x'.repeat(100), routes } },
        token,
      ),
    ).setWorkspaceLlmSettings;
    expect(set.routes).toHaveLength(50);
    expect(set.routes[0]).toEqual({
      match: 'task-0',
      provider: 'OPENAI',
      model: 'm'.repeat(100),
      maxTokens: 200000,
      temperature: 2,
    });
  });

  test('bad input is refused, naming every bad field, and changes nothing', async () => {
    ok(await gw.graphql(SET, { w: ws, i: valid() }, token));
    const route = valid().routes[0];
    await refused(
      SET,
      {
        w: ws,
        i: {
          defaultProvider: 'OPENAI',
          defaultModel: '   ',
          routes: [
            { ...route, model: '' },
            { ...route, match: 'other', temperature: 2.5, maxTokens: 0 },
            { ...route, match: 'third', temperature: -0.1, maxTokens: 200001, model: 'x'.repeat(101) },
            { ...route, match: ' spaced name' },
          ],
        },
      },
      'BAD_USER_INPUT',
      [
        'defaultModel',
        'routes.0.model',
        'routes.1.temperature',
        'routes.1.maxTokens',
        'routes.2.temperature',
        'routes.2.maxTokens',
        'routes.2.model',
        'routes.3.match',
      ],
    );
    await refused(SET, { w: ws, i: { ...valid(), defaultModel: 'x'.repeat(101) } }, 'BAD_USER_INPUT', ['defaultModel']);
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ ...route, match: `t${i}` }));
    await refused(SET, { w: ws, i: { ...valid(), routes: tooMany } }, 'BAD_USER_INPUT', ['routes']);
    const duplicate = await refused(
      SET,
      { w: ws, i: { ...valid(), routes: [route, { ...route, match: 'Summarize', model: 'other' }] } },
      'BAD_USER_INPUT',
      ['routes.1.match'],
    );
    expect(duplicate.body.errors![0].extensions.fields[0].message).toContain('routes.0');
    // A duplicate match is reported together with every other bad field, not after them.
    await refused(
      SET,
      { w: ws, i: { ...valid(), defaultModel: ' ', routes: [route, { ...route, match: 'SUMMARIZE' }] } },
      'BAD_USER_INPUT',
      ['defaultModel', 'routes.1.match'],
    );
    await refused(SET, { w: ws, i: { ...valid(), fallbackProvider: null } }, 'BAD_USER_INPUT', ['fallbackProvider']);
    await refused(SET, { w: ws, i: { ...valid(), fallbackModel: null } }, 'BAD_USER_INPUT', ['fallbackModel']);
    await refused(SET, { w: ws, i: { ...valid(), routes: null } }, 'BAD_USER_INPUT');
    // Unknown providers never reach the resolver: the GraphQL enum refuses them.
    await refused(SET, { w: ws, i: { ...valid(), defaultProvider: 'mistral' } }, 'BAD_USER_INPUT');
    await refused(SET, { w: ws, i: { ...valid(), routes: [{ ...route, provider: 'cohere' }] } }, 'BAD_USER_INPUT');
    await refused(SET, { w: 'nope', i: valid() }, 'NOT_FOUND');
    await refused(SET, { w: UNKNOWN, i: valid() }, 'NOT_FOUND');
    await refused(CLEAR, { w: UNKNOWN }, 'NOT_FOUND');
  });

  test('when the organization withdraws the permission: settings show inactive, setting is refused, clearing still works', async () => {
    const own = await newWorkspace();
    ok(await gw.graphql(SET, { w: own, i: valid() }, token));
    await allowOverrides(org.id, false);
    try {
      expect(ok<any>(await gw.graphql(READ, { w: own }, token)).workspace.llmSettings).toMatchObject({
        active: false,
        defaultModel: 'claude-sonnet-4',
      });
      await refused(SET, { w: own, i: valid() }, 'FORBIDDEN');
      expect(ok<any>(await gw.graphql(CLEAR, { w: own }, token)).clearWorkspaceLlmSettings.llmSettings).toBeNull();
    } finally {
      await allowOverrides(org.id, true);
    }
  });
});

describe('who may do what', () => {
  let ws: string;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    await allowOverrides(org.id, true);
    ws = await newWorkspace();
    ok(await gw.graphql(SET, { w: ws, i: valid() }, token));
    for (const [userId, role, orgRole] of [
      ['ws-admin', 'admin', 'member'],
      ['ws-dev', 'developer', 'member'],
      ['ws-viewer', 'viewer', 'member'],
      ['stranger', null, 'member'],
      ['org-viewer', 'admin', 'viewer'],
    ] as const) {
      ok(
        await gw.graphql(
          `mutation($i: AddMemberInput!) { addMember(input: $i) { userId } }`,
          { i: { userId, email: `${userId}@example.test`, role: orgRole.toUpperCase() } },
          token,
        ),
      );
      if (role) {
        ok(
          await gw.graphql(
            `mutation($w: ID!, $u: ID!, $r: WorkspaceRole!) { setWorkspaceMember(workspaceId: $w, userId: $u, role: $r) { role } }`,
            { w: ws, u: userId, r: role.toUpperCase() },
            token,
          ),
        );
      }
      tokens[userId] = gw.token(org.id, ALL_SCOPES, { sub: userId });
    }
  });

  test('workspace admins set and clear; developers and viewers read but are FORBIDDEN to change', async () => {
    expect(
      ok<any>(await gw.graphql(SET, { w: ws, i: valid() }, tokens['ws-admin'])).setWorkspaceLlmSettings.updatedBy,
    ).toBe('ws-admin');
    for (const who of ['ws-dev', 'ws-viewer']) {
      expect(ok<any>(await gw.graphql(READ, { w: ws }, tokens[who])).workspace.llmSettings.defaultModel).toBe(
        'claude-sonnet-4',
      );
      await refused(SET, { w: ws, i: valid() }, 'FORBIDDEN', undefined, tokens[who]);
      await refused(CLEAR, { w: ws }, 'FORBIDDEN', undefined, tokens[who]);
    }
  });

  test('an organization member outside the workspace gets NOT_FOUND, even where the organization forbids overrides', async () => {
    await refused(SET, { w: ws, i: valid() }, 'NOT_FOUND', undefined, tokens.stranger);
    await refused(CLEAR, { w: ws }, 'NOT_FOUND', undefined, tokens.stranger);
    await refused(READ, { w: ws }, 'NOT_FOUND', undefined, tokens.stranger);
    await allowOverrides(org.id, false);
    try {
      await refused(SET, { w: ws, i: valid() }, 'NOT_FOUND', undefined, tokens.stranger);
    } finally {
      await allowOverrides(org.id, true);
    }
  });

  test('without workspaces:write (org viewer role, or a narrower token) changes are FORBIDDEN; workspaces:read reads', async () => {
    await refused(SET, { w: ws, i: valid() }, 'FORBIDDEN', undefined, tokens['org-viewer']);
    await refused(CLEAR, { w: ws }, 'FORBIDDEN', undefined, tokens['org-viewer']);
    const narrow = gw.token(org.id, ['workspaces:read']);
    await refused(SET, { w: ws, i: valid() }, 'FORBIDDEN', undefined, narrow);
    expect(ok<any>(await gw.graphql(READ, { w: ws }, narrow)).workspace.llmSettings.defaultProvider).toBe('ANTHROPIC');
  });
});

describe('isolation between organizations', () => {
  test("org B reaches nothing of org A's settings, whatever B's own organization permits", async () => {
    await allowOverrides(org.id, true);
    const wsA = await newWorkspace();
    ok(await gw.graphql(SET, { w: wsA, i: valid() }, token));
    const orgB = await createOrg(db, 'llm-b');
    await allowOverrides(orgB.id, true);
    const tokenB = gw.token(orgB.id);
    const wsB = await newWorkspace(tokenB);
    ok(await gw.graphql(SET, { w: wsB, i: { defaultProvider: 'OPENAI', defaultModel: 'b-model' } }, tokenB));

    await refused(READ, { w: wsA }, 'NOT_FOUND', undefined, tokenB);
    await refused(SET, { w: wsA, i: valid() }, 'NOT_FOUND', undefined, tokenB);
    await refused(CLEAR, { w: wsA }, 'NOT_FOUND', undefined, tokenB);
    const all = ok<any>(
      await gw.graphql(
        `{ organization { workspaces(first: 100) { edges { node { id llmSettings { workspaceId defaultModel } } } } } }`,
        {},
        tokenB,
      ),
    );
    const text = JSON.stringify(all);
    expect(text).not.toContain(wsA);
    expect(text).not.toContain('claude-sonnet-4');
    expect(text).toContain('b-model');
    // A's permission does not leak into B: withdrawn for B, B is refused while A still may set.
    await allowOverrides(orgB.id, false);
    await refused(SET, { w: wsB, i: valid() }, 'FORBIDDEN', undefined, tokenB);
    ok(await gw.graphql(SET, { w: wsA, i: valid() }, token));
  });
});
