import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './support/gateway';
import { useGateway } from './support/harness';
import { rest } from './support/rest';

/**
 * examples/rest.sh, run as a user runs it (bash + curl + node, no jq) against a live gateway: it exchanges
 * an API key, creates a workspace, an environment, a hosted service and two rings, deploys the service to
 * the first ring and promotes it to the second. Then the database is asked whether all of that happened.
 */
const { gw, orgA } = useGateway({ orgs: ['rex-a'] });

/** The routes the script uses besides workspaces (helper "rest"'s environments, components, deployments). */
const NEEDED = [
  '/orgs/{org_id}/workspaces/{workspace_id}/environments',
  '/orgs/{org_id}/workspaces/{workspace_id}/hosted-services',
  '/orgs/{org_id}/workspaces/{workspace_id}/deployments/rings',
  '/orgs/{org_id}/workspaces/{workspace_id}/deployments/rings/{ring_id}/deployments',
  '/orgs/{org_id}/workspaces/{workspace_id}/deployments/rings/{ring_id}/promotions',
];

/**
 * On branch rest-more alone these routes do not exist yet (they are helper "rest"'s, merged by the lead).
 * Jest cannot skip from inside a test, so: with NONE of them in the live OpenAPI document the test stops
 * after saying so (the only way it passes without running the script); with some but not all it fails; with
 * all of them the script runs.
 */
test('examples/rest.sh: key → token → workspace → environment → hosted service → rings → deploy → promote', async () => {
  const doc = (await rest(gw, 'get', '/openapi.json')).body;
  const present = NEEDED.filter((p) => doc.paths[`/api/v1${p}`]);
  expect([0, NEEDED.length]).toContain(present.length);
  if (present.length === 0) {
    process.stderr.write('rest-example: the environment/component/deployment routes are not in this build; not run\n');
    return;
  }
  const created = await rest(gw, 'post', `/orgs/${orgA.id}/api-keys`, {
    token: gw.token(orgA.id),
    body: {
      name: 'example',
      scopes: ['workspaces:read', 'workspaces:write', 'components:read', 'components:write', 'deployments:write'],
    },
  });
  expect(created.status).toBe(201);
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', [path.join(ROOT, 'examples/rest.sh')], {
      env: { PATH: process.env.PATH, GATEWAY_URL: gw.url, API_KEY: created.body.key, SUFFIX: 'test' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  expect(run.stdout).toContain(`organization: ${orgA.id}`);
  const ws = /workspace: (\S+)/.exec(run.stdout)![1];
  const service = /hosted service: (\S+)/.exec(run.stdout)![1];
  const general = /general (\S+)/.exec(run.stdout)![1].replace(/,$/, '');
  // What the script did is there, read back through the API with another token.
  const token = gw.token(orgA.id);
  const inRing = await rest(gw, 'get', `/orgs/${orgA.id}/workspaces/${ws}/deployments/rings/${general}/deployments`, {
    token,
  });
  expect(inRing.body.items).toEqual([expect.objectContaining({ component_id: service, version: '1.0.0' })]);
  const services = await rest(gw, 'get', `/orgs/${orgA.id}/workspaces/${ws}/hosted-services`, { token });
  expect(services.body.items).toEqual([expect.objectContaining({ id: service, name: 'checkout-api' })]);
  // The key never shows in what the script printed.
  expect(run.stdout).not.toContain(created.body.key);
}, 60_000);
