import { ok } from './support/fixtures';
import { ALL_SCOPES } from './support/scopes';
import { expectRefusedUnchanged, useGateway } from './support/harness';

/** Users, roles and the role × operation matrix in the README, one test per cell that matters. */
const { gw, db, org } = useGateway({ orgs: ['roles'] });
const as = (sub: string) => gw.token(org.id, ALL_SCOPES, { sub });
const OWNER = 'user-1';

beforeAll(async () => {
  for (const [userId, role] of [
    ['admin-1', 'admin'],
    ['member-1', 'member'],
    ['member-2', 'member'],
    ['viewer-1', 'viewer'],
    ['billing-1', 'billing'],
  ]) {
    ok(
      await gw.graphql(
        `mutation($i: AddMemberInput!) { addMember(input: $i) { userId } }`,
        { i: { userId, email: `${userId}@example.test`, role: role.toUpperCase() } },
        as(OWNER),
      ),
    );
  }
});

async function refused(
  query: string,
  variables: Record<string, unknown>,
  sub: string,
  code: string,
  fields?: string[],
) {
  await expectRefusedUnchanged(() => gw.graphql(query, variables, as(sub)), { code, fields }, db);
}

const UPDATE_ORG = `mutation { updateOrganization(input: { industry: "Robotics" }) { industry } }`;
const CREATE_WS = `mutation($n: String!) { createWorkspace(input: { name: $n }) { id } }`;
const ADD = `mutation($i: AddMemberInput!) { addMember(input: $i) { userId role } }`;
const UPDATE_MEMBER = `mutation($u: ID!, $i: UpdateMemberInput!) { updateMember(userId: $u, input: $i) { userId role allWorkspacesRole } }`;

describe('organization members', () => {
  test('members are listed with their roles, paged by user id', async () => {
    const page1 = ok<any>(
      await gw.graphql(
        `{ organization { members(first: 3) { totalCount pageInfo { hasNextPage endCursor } edges { node { userId email role } } } } }`,
        {},
        as('viewer-1'),
      ),
    );
    expect(page1.organization.members.totalCount).toBe(6);
    expect(page1.organization.members.edges.map((e: any) => e.node.userId)).toEqual([
      'admin-1',
      'billing-1',
      'member-1',
    ]);
    const page2 = ok<any>(
      await gw.graphql(
        `query($a: String) { organization { members(first: 3, after: $a) { edges { node { userId role } } } } }`,
        { a: page1.organization.members.pageInfo.endCursor },
        as('viewer-1'),
      ),
    );
    expect(page2.organization.members.edges.map((e: any) => [e.node.userId, e.node.role])).toEqual([
      ['member-2', 'MEMBER'],
      ['user-1', 'OWNER'],
      ['viewer-1', 'VIEWER'],
    ]);
  });

  test('addMember validates every field and refuses duplicates', async () => {
    await refused(
      ADD,
      { i: { userId: 'has space', email: 'nope', role: 'MEMBER', displayName: 'x'.repeat(201) } },
      OWNER,
      'BAD_USER_INPUT',
      ['userId', 'email', 'displayName'],
    );
    await refused(
      ADD,
      { i: { userId: 'member-1', email: 'other@example.test', role: 'MEMBER' } },
      OWNER,
      'BAD_USER_INPUT',
      ['userId'],
    );
    await refused(
      ADD,
      { i: { userId: 'new-1', email: 'MEMBER-1@example.test', role: 'MEMBER' } },
      OWNER,
      'BAD_USER_INPUT',
      ['userId'],
    );
    await refused(
      ADD,
      { i: { userId: 'new-1', email: 'new@example.test', role: 'superuser' } },
      OWNER,
      'BAD_USER_INPUT',
    );
  });

  test('who may add: owner and admin yes, member no; only an owner adds an owner', async () => {
    ok(
      await gw.graphql(
        ADD,
        { i: { userId: 'added-by-admin', email: 'aba@example.test', role: 'VIEWER' } },
        as('admin-1'),
      ),
    );
    await refused(ADD, { i: { userId: 'x1', email: 'x1@example.test', role: 'VIEWER' } }, 'member-1', 'FORBIDDEN');
    await refused(ADD, { i: { userId: 'x2', email: 'x2@example.test', role: 'OWNER' } }, 'admin-1', 'FORBIDDEN');
    ok(await gw.graphql(ADD, { i: { userId: 'owner-2', email: 'owner2@example.test', role: 'OWNER' } }, as(OWNER)));
    ok(await gw.graphql(`mutation { removeMember(userId: "owner-2") }`, {}, as(OWNER)));
    ok(await gw.graphql(`mutation { removeMember(userId: "added-by-admin") }`, {}, as('admin-1')));
  });

  test('an admin cannot demote or remove an owner', async () => {
    await refused(UPDATE_MEMBER, { u: OWNER, i: { role: 'VIEWER' } }, 'admin-1', 'FORBIDDEN');
    await refused(`mutation { removeMember(userId: "user-1") }`, {}, 'admin-1', 'FORBIDDEN');
  });

  test('the last owner can be neither demoted nor removed', async () => {
    await refused(UPDATE_MEMBER, { u: OWNER, i: { role: 'ADMIN' } }, OWNER, 'BAD_USER_INPUT', ['role']);
    await refused(`mutation { removeMember(userId: "user-1") }`, {}, OWNER, 'BAD_USER_INPUT', ['userId']);
  });

  test('two owners demoting each other at the same moment: one succeeds, one owner always remains', async () => {
    ok(await gw.graphql(ADD, { i: { userId: 'owner-b', email: 'ob@example.test', role: 'OWNER' } }, as(OWNER)));
    const [a, b] = await Promise.all([
      gw.graphql(UPDATE_MEMBER, { u: 'owner-b', i: { role: 'ADMIN' } }, as(OWNER)),
      gw.graphql(UPDATE_MEMBER, { u: OWNER, i: { role: 'ADMIN' } }, as('owner-b')),
    ]);
    // The loser is refused either as the last owner (both started together: BAD_USER_INPUT) or as no longer
    // an owner (it started after the winner committed: FORBIDDEN). Never both succeed.
    const outcomes = [a, b].map((r) => (r.body.errors ? r.body.errors[0].extensions.code : 'ok'));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.find((o) => o !== 'ok')).toMatch(/^(BAD_USER_INPUT|FORBIDDEN)$/);
    const owners = await db.admin.query(`SELECT user_id FROM org_members WHERE org_id = $1 AND role = 'owner'`, [
      org.id,
    ]);
    expect(owners.rowCount).toBe(1);
    // Put things back: the survivor makes user-1 owner again and removes owner-b.
    const survivor = owners.rows[0].user_id;
    if (survivor !== OWNER) ok(await gw.graphql(UPDATE_MEMBER, { u: OWNER, i: { role: 'OWNER' } }, as(survivor)));
    ok(await gw.graphql(`mutation { removeMember(userId: "owner-b") }`, {}, as(OWNER)));
  });

  test('updateMember on someone who is not a member is NOT_FOUND; a null role is refused', async () => {
    await refused(UPDATE_MEMBER, { u: 'nobody', i: { role: 'VIEWER' } }, OWNER, 'NOT_FOUND');
    await refused(UPDATE_MEMBER, { u: 'member-2', i: { role: null } }, OWNER, 'BAD_USER_INPUT', ['role']);
  });

  test('membership in the database decides: a removed user is refused at once, with an unexpired token', async () => {
    ok(await gw.graphql(ADD, { i: { userId: 'leaver', email: 'leaver@example.test', role: 'ADMIN' } }, as(OWNER)));
    const token = as('leaver');
    ok(await gw.graphql(`{ organization { id } }`, {}, token));
    ok(await gw.graphql(`mutation { removeMember(userId: "leaver") }`, {}, as(OWNER)));
    const response = await gw.graphql(`{ organization { id } }`, {}, token);
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]).toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
      message: expect.stringMatching(/not a member/),
    });
  });

  test('a demoted user loses the demoted powers on the next request', async () => {
    ok(await gw.graphql(ADD, { i: { userId: 'demotee', email: 'demotee@example.test', role: 'ADMIN' } }, as(OWNER)));
    ok(await gw.graphql(UPDATE_ORG, {}, as('demotee')));
    ok(await gw.graphql(UPDATE_MEMBER, { u: 'demotee', i: { role: 'VIEWER' } }, as(OWNER)));
    await refused(UPDATE_ORG, {}, 'demotee', 'FORBIDDEN');
    const viewer = ok<any>(await gw.graphql(`{ viewer { scopes } }`, {}, as('demotee')));
    expect(viewer.viewer.scopes).toEqual(['components:read', 'org:read', 'workspaces:read']);
  });
});

describe('the role × operation matrix', () => {
  test('organization settings: owner and admin change them; member, viewer and billing may not', async () => {
    for (const sub of [OWNER, 'admin-1']) ok(await gw.graphql(UPDATE_ORG, {}, as(sub)));
    for (const sub of ['member-1', 'viewer-1', 'billing-1']) await refused(UPDATE_ORG, {}, sub, 'FORBIDDEN');
    for (const sub of [OWNER, 'admin-1', 'member-1', 'viewer-1', 'billing-1'])
      ok(await gw.graphql(`{ organization { name } }`, {}, as(sub)));
  });

  test('creating workspaces: owner, admin, member yes; viewer and billing no', async () => {
    for (const sub of [OWNER, 'admin-1', 'member-1']) ok(await gw.graphql(CREATE_WS, { n: `by ${sub}` }, as(sub)));
    for (const sub of ['viewer-1', 'billing-1']) await refused(CREATE_WS, { n: 'nope' }, sub, 'FORBIDDEN');
  });

  describe('workspaces', () => {
    let ownersWs: string;
    let membersWs: string;
    beforeAll(async () => {
      ownersWs = ok<any>(await gw.graphql(CREATE_WS, { n: 'Owner private' }, as(OWNER))).createWorkspace.id;
      membersWs = ok<any>(await gw.graphql(CREATE_WS, { n: 'Member-2 home' }, as('member-2'))).createWorkspace.id;
    });
    const LIST = `{ organization { workspaces(first: 100) { edges { node { id } } } } }`;
    const ids = async (sub: string) =>
      ok<any>(await gw.graphql(LIST, {}, as(sub))).organization.workspaces.edges.map((e: any) => e.node.id);

    test('a member sees only the workspaces they belong to; owners and admins see all', async () => {
      expect(await ids('member-2')).toEqual([membersWs]);
      expect(await ids(OWNER)).toEqual(expect.arrayContaining([ownersWs, membersWs]));
      expect(await ids('admin-1')).toEqual(expect.arrayContaining([ownersWs, membersWs]));
      await refused(`query($id: ID!) { workspace(id: $id) { id } }`, { id: ownersWs }, 'member-2', 'NOT_FOUND');
      await refused(
        `mutation($id: ID!) { createComponent(input: { workspaceId: $id, name: "x", type: AGENT }) { id } }`,
        { id: ownersWs },
        'member-2',
        'NOT_FOUND',
      );
    });

    test('the workspace creator is its admin and can give others roles in it', async () => {
      const members = ok<any>(
        await gw.graphql(
          `query($id: ID!) { workspace(id: $id) { members { userId role } } }`,
          { id: membersWs },
          as('member-2'),
        ),
      );
      expect(members.workspace.members).toEqual([{ userId: 'member-2', role: 'ADMIN' }]);
      ok(
        await gw.graphql(
          `mutation($w: ID!) { setWorkspaceMember(workspaceId: $w, userId: "member-1", role: VIEWER) { role } }`,
          { w: membersWs },
          as('member-2'),
        ),
      );
      expect(await ids('member-1')).toContain(membersWs);
    });

    test('a workspace viewer may read but not change; a developer may change components but not the workspace', async () => {
      const CREATE_COMP = `mutation($w: ID!) { createComponent(input: { workspaceId: $w, name: "Bot", type: AGENT }) { id } }`;
      await refused(CREATE_COMP, { w: membersWs }, 'member-1', 'FORBIDDEN');
      ok(
        await gw.graphql(
          `mutation($w: ID!) { setWorkspaceMember(workspaceId: $w, userId: "member-1", role: DEVELOPER) { role } }`,
          { w: membersWs },
          as('member-2'),
        ),
      );
      ok(await gw.graphql(CREATE_COMP, { w: membersWs }, as('member-1')));
      await refused(
        `mutation($w: ID!) { updateWorkspace(id: $w, input: { name: "renamed" }) { id } }`,
        { w: membersWs },
        'member-1',
        'FORBIDDEN',
      );
      await refused(`mutation($w: ID!) { deleteWorkspace(id: $w) }`, { w: membersWs }, 'member-1', 'FORBIDDEN');
      await refused(
        `mutation($w: ID!) { setWorkspaceMember(workspaceId: $w, userId: "viewer-1", role: ADMIN) { role } }`,
        { w: membersWs },
        'member-1',
        'FORBIDDEN',
      );
    });

    test('setWorkspaceMember refuses someone who is not a member of the organization', async () => {
      await refused(
        `mutation($w: ID!) { setWorkspaceMember(workspaceId: $w, userId: "stranger", role: VIEWER) { role } }`,
        { w: membersWs },
        'member-2',
        'NOT_FOUND',
      );
    });

    test('a cross-workspace grant shows every workspace with that role', async () => {
      ok(await gw.graphql(UPDATE_MEMBER, { u: 'viewer-1', i: { allWorkspacesRole: 'VIEWER' } }, as(OWNER)));
      expect(await ids('viewer-1')).toEqual(expect.arrayContaining([ownersWs, membersWs]));
      ok(await gw.graphql(UPDATE_MEMBER, { u: 'viewer-1', i: { allWorkspacesRole: null } }, as(OWNER)));
      expect(await ids('viewer-1')).toEqual([]);
    });

    test('removing a workspace member takes the workspace away from them', async () => {
      ok(
        await gw.graphql(
          `mutation($w: ID!) { removeWorkspaceMember(workspaceId: $w, userId: "member-1") }`,
          { w: membersWs },
          as('member-2'),
        ),
      );
      expect(await ids('member-1')).not.toContain(membersWs);
      await refused(
        `mutation($w: ID!) { removeWorkspaceMember(workspaceId: $w, userId: "member-1") }`,
        { w: membersWs },
        'member-2',
        'NOT_FOUND',
      );
    });
  });

  test('the billing role sees no workspaces: organization.workspaces is FORBIDDEN', async () => {
    const response = await gw.graphql(`{ organization { workspaces { totalCount } } }`, {}, as('billing-1'));
    expect(response.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });

  test('the audit log: owner and admin read it; member and viewer may not', async () => {
    for (const sub of [OWNER, 'admin-1'])
      ok(await gw.graphql(`{ organization { auditLog(first: 1) { totalCount } } }`, {}, as(sub)));
    for (const sub of ['member-1', 'viewer-1']) {
      const response = await gw.graphql(`{ organization { auditLog(first: 1) { totalCount } } }`, {}, as(sub));
      expect(response.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    }
  });

  test('a token cannot widen its role: scopes beyond the role are dropped', async () => {
    const viewerWithEverything = gw.token(org.id, ALL_SCOPES, { sub: 'viewer-1' });
    const response = await gw.graphql(UPDATE_ORG, {}, viewerWithEverything);
    expect(response.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });
});
