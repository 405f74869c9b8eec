import { snapshot, snapshotDigest } from './support/database';
import { useGateway } from './support/harness';
import { rest, expectProblem } from './support/rest';
import {
  bodyFor,
  call,
  fillPath,
  neverIds,
  operationsOf,
  pathIds,
  refusalShape,
  seedOrg,
  type Doc,
  type Operation,
  type Seed,
} from './support/rest-sweep';

/**
 * The REST isolation sweep, generated from the live OpenAPI document: EVERY operation (routes added
 * later included, without editing this file) is called
 *   1. with org B's token, B's org id in the path and org A's ids for every other parameter,
 *   2. with org B's token and A's org id (and A's ids) in the path,
 *   3. with org A's token and B's org id (and B's ids) in the path,
 * each with a valid body. Every call must answer 404, byte for byte the same problem (status, media type,
 * header names, body without its request id) as the same call with ids that never existed, and leave the
 * whole database unchanged. A path parameter the sweep cannot fill fails it (test/support/rest-sweep.ts).
 */
const { gw, db, orgA, orgB } = useGateway({ orgs: ['rsweep-a', 'rsweep-b'], timeout: 60_000 });
let doc: Doc;
let operations: Operation[];
let a: Seed;
let b: Seed;

beforeAll(async () => {
  a = await seedOrg(gw, db, orgA, 'target-a');
  b = await seedOrg(gw, db, orgB, 'target-b');
  doc = (await rest(gw, 'get', '/openapi.json')).body;
  operations = operationsOf(doc);
}, 60_000);

interface Case {
  name: string;
  token: () => string;
  /** The ids in the path (and body) of the probe, and of the never-existing twin it is compared with. */
  ids: (op: Operation) => Record<string, string>;
  never: () => Record<string, string>;
  seed: () => Seed;
  applies: (op: Operation) => boolean;
}

const CASES: Case[] = [
  {
    name: "B's token, B's org id, A's object ids",
    token: () => b.token,
    ids: (op) => ({ ...pathIds(op, a), org_id: orgB.id }),
    never: () => neverIds(orgB.id),
    seed: () => a,
    // Only {org_id}: that is B's own organization, nothing of A's is named.
    applies: (op) => op.params.some((p) => p !== 'org_id'),
  },
  {
    name: "B's token, A's org id and ids",
    token: () => b.token,
    ids: (op) => pathIds(op, a),
    never: () => ({ ...neverIds(orgA.id) }),
    seed: () => a,
    applies: () => true,
  },
  {
    name: "A's token, B's org id and ids",
    token: () => a.token,
    ids: (op) => pathIds(op, b),
    never: () => ({ ...neverIds(orgB.id) }),
    seed: () => b,
    applies: () => true,
  },
];

test('the document has operations, and every path parameter of every one can be filled', () => {
  expect(operations.length).toBeGreaterThan(20);
  for (const op of operations) expect(() => fillPath(op, pathIds(op, a))).not.toThrow();
});

describe.each(CASES)('$name', (c) => {
  test('every operation: the one 404, byte-identical to ids that never existed, nothing changed', async () => {
    const before = await snapshot(db.admin);
    const failures: string[] = [];
    let probed = 0;
    for (const op of operations.filter(c.applies)) {
      const body = bodyFor(op, doc, c.seed());
      const digest = await snapshotDigest(db.admin);
      const probe = await call(gw, op, fillPath(op, c.ids(op)), c.token(), body);
      const changed = JSON.stringify(await snapshotDigest(db.admin)) !== JSON.stringify(digest);
      const twin = await call(gw, op, fillPath(op, c.never()), c.token(), body);
      const label = `${op.method.toUpperCase()} ${op.path}`;
      if (probe.status !== 404 || probe.body?.code !== 'NOT_FOUND')
        failures.push(`${label}: ${probe.status} ${probe.text.slice(0, 200)}`);
      else if (refusalShape(probe) !== refusalShape(twin))
        failures.push(`${label}: differs from never-existing ids:\n  ${refusalShape(probe)}\n  ${refusalShape(twin)}`);
      if (changed) failures.push(`${label}: the database changed`);
      probed++;
    }
    expect(failures).toEqual([]);
    expect(probed).toBeGreaterThan(10);
    expect(await snapshot(db.admin)).toEqual(before);
  }, 120_000);
});

test("the probes are not vacuous: A's own token on A's ids reads them (every GET answers 200)", async () => {
  for (const op of operations.filter((o) => o.method === 'get')) {
    const r = await call(gw, op, fillPath(op, pathIds(op, a)), a.token, undefined);
    expect({ op: op.operationId, status: r.status }).toEqual({ op: op.operationId, status: 200 });
  }
});

test('a malformed id answers the same 404 as a missing one', async () => {
  const never = await rest(
    gw,
    'get',
    `/orgs/${orgA.id}/workspaces/${a.ids.workspace_id}/connectors/${crypto.randomUUID()}`,
    {
      token: a.token,
    },
  );
  const malformed = await rest(gw, 'get', `/orgs/${orgA.id}/workspaces/${a.ids.workspace_id}/connectors/nope`, {
    token: a.token,
  });
  expectProblem(never, 404, 'NOT_FOUND');
  expect(refusalShape(malformed)).toBe(refusalShape(never));
  // A user id with a space is not a user id: the same 404.
  const badUser = await rest(gw, 'delete', `/orgs/${orgA.id}/members/a%20b`, { token: a.token });
  expect(refusalShape(badUser)).toBe(
    refusalShape(await rest(gw, 'delete', `/orgs/${orgA.id}/members/never-user`, { token: a.token })),
  );
});
