import { useGateway } from './support/harness';
import { expectProblem, expectProblemUnchanged, rest, withoutRequestId } from './support/rest';

/**
 * Traces over REST (issue 13 point 3, "and REST where it exists"): REST requests are traced under the
 * organization's configuration like GraphQL ones, and read back at /orgs/{org_id}/traces[/{trace_id}].
 */
const { gw, db, orgA, orgB } = useGateway({ orgs: ['rtrace-a', 'rtrace-b'] });

async function waitForTrace(token: string, orgId: string, traceId: string) {
  for (let i = 0; i < 100; i++) {
    const r = await rest(gw, 'get', `/orgs/${orgId}/traces/${traceId}`, { token });
    if (r.status === 200) return r;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`trace ${traceId} was never stored`);
}

test('a REST request is traced under the org configuration and read back with its spans', async () => {
  const token = gw.token(orgA.id);
  const on = await rest(gw, 'patch', `/orgs/${orgA.id}/settings/trace-config`, { token, body: { mode: 'all' } });
  expect(on.status).toBe(200);
  const listed = await rest(gw, 'get', `/orgs/${orgA.id}/workspaces`, { token });
  expect(listed.status).toBe(200);
  const traceId = listed.headers.get('traceparent')!.split('-')[1];
  const refused = await rest(gw, 'post', `/orgs/${orgA.id}/workspaces`, { token, body: { name: '' } });
  expectProblem(refused, 400, 'BAD_USER_INPUT');
  const refusedTraceId = refused.headers.get('traceparent')!.split('-')[1];

  const one = await waitForTrace(token, orgA.id, traceId);
  expect(one.body).toMatchObject({
    trace_id: traceId,
    operation_type: 'rest',
    operation_name: 'listWorkspaces',
    outcome: 'ok',
    http_status: 200,
    error_codes: [],
  });
  expect(one.body.spans[0]).toMatchObject({ kind: 'request', name: 'rest listWorkspaces' });
  expect(one.body.spans.some((s: { kind: string }) => s.kind === 'sql')).toBe(true);
  const failed = await waitForTrace(token, orgA.id, refusedTraceId);
  expect(failed.body).toMatchObject({ outcome: 'error', http_status: 400, error_codes: ['BAD_USER_INPUT'] });

  // The list: newest first, filtered, no spans in list items.
  const errors = await rest(gw, 'get', `/orgs/${orgA.id}/traces?outcome=error`, { token });
  expect(errors.status).toBe(200);
  expect(errors.body.items.map((t: { trace_id: string }) => t.trace_id)).toContain(refusedTraceId);
  expect(errors.body.items.every((t: { outcome: string }) => t.outcome === 'error')).toBe(true);
  expect(errors.body.items[0].spans).toBeUndefined();
  const named = await rest(gw, 'get', `/orgs/${orgA.id}/traces?operation_name=listWorkspaces&limit=1`, { token });
  expect(named.body.items.map((t: { trace_id: string }) => t.trace_id)).toEqual([traceId]);

  // Another organization's trace id answers like one that never existed.
  const tokenB = gw.token(orgB.id);
  const foreign = await rest(gw, 'get', `/orgs/${orgB.id}/traces/${traceId}`, { token: tokenB });
  const never = await rest(gw, 'get', `/orgs/${orgB.id}/traces/${'0'.repeat(31)}1`, { token: tokenB });
  expectProblem(foreign, 404, 'NOT_FOUND');
  expect(withoutRequestId(foreign)).toBe(withoutRequestId(never));
  await rest(gw, 'patch', `/orgs/${orgA.id}/settings/trace-config`, { token, body: { mode: 'none' } });
});

test('bad trace filters are refused naming each parameter, nothing stored', async () => {
  const token = gw.token(orgB.id);
  await expectProblemUnchanged(
    () => rest(gw, 'get', `/orgs/${orgB.id}/traces?since=yesterday&until=2026-13-45T00:00:00Z`, { token }),
    { status: 400, code: 'BAD_USER_INPUT', fields: ['since', 'until'] },
    db,
  );
  await expectProblemUnchanged(
    () => rest(gw, 'get', `/orgs/${orgB.id}/traces?outcome=maybe`, { token }),
    { status: 400, code: 'BAD_USER_INPUT' },
    db,
  );
  await expectProblemUnchanged(
    () => rest(gw, 'get', `/orgs/${orgB.id}/traces?since=2026-11-27T10:00:00Z&until=2026-11-27T09:00:00Z`, { token }),
    { status: 400, code: 'BAD_USER_INPUT', fields: ['until'] },
    db,
  );
});

test('traces need traces:read (owners and admins)', async () => {
  const viewer = gw.token(orgB.id, ['org:read', 'workspaces:read']);
  await expectProblemUnchanged(
    () => rest(gw, 'get', `/orgs/${orgB.id}/traces`, { token: viewer }),
    {
      status: 403,
      code: 'FORBIDDEN',
    },
    db,
  );
});
