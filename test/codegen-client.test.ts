import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './support/gateway';
import { createOrg } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * The example client (examples/client) as a user builds it: graphql-codegen's client preset generates
 * typed documents from the committed schema.graphql (offline), tsc type-checks the client against them,
 * and the compiled client runs against a live gateway: mutations, BAD_USER_INPUT and NOT_FOUND handling,
 * and a nested read with fragments and @include.
 */
const run = promisify(execFile);
const CLIENT = path.join(ROOT, 'examples/client');
const bin = (name: string) => path.join(ROOT, 'node_modules/.bin', name);

const { gw, db } = useGateway();

test('codegen from schema.graphql, a type-checked client, and a run against a live gateway', async () => {
  fs.rmSync(path.join(CLIENT, 'src/gql'), { recursive: true, force: true });
  fs.rmSync(path.join(CLIENT, 'dist'), { recursive: true, force: true });
  await run(bin('graphql-codegen'), ['--config', 'codegen.yml', '--silent'], { cwd: CLIENT });
  expect(fs.readFileSync(path.join(CLIENT, 'src/gql/graphql.ts'), 'utf8')).toMatch(
    /export type ComponentType =\s*\/\*\* An AI agent\. \*\/\s*\| 'AGENT'/,
  );

  await run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'], { cwd: CLIENT });
  await run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit', 'false', '--outDir', 'dist'], { cwd: CLIENT });

  const org = await createOrg(db, 'client');
  const { stdout } = await run(process.execPath, [path.join(CLIENT, 'dist/main.js')], {
    env: { ...process.env, GATEWAY_URL: `${gw.url}/graphql`, TOKEN: gw.token(org.id) },
  });
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^created workspace Client example [A-Za-z0-9_-]+$/);
  expect(lines.slice(1)).toEqual([
    'created environment prod PROD AWS',
    'created component Support agent',
    'BAD_USER_INPUT fields=name,slug',
    'NOT_FOUND unknown workspace',
    'overview withComponents=true workspace=Client example environments=prod components=Support agent:AGENT',
    'overview withComponents=false workspace=Client example environments=prod components=skipped',
  ]);
}, 120000);

test('a client type error fails the type check (the check is real)', async () => {
  const broken = path.join(CLIENT, 'src/broken-check.ts');
  fs.writeFileSync(
    broken,
    `import type { ComponentType } from './gql/graphql';\nexport const t: ComponentType = 'agent';\n`,
  );
  try {
    await expect(run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'], { cwd: CLIENT })).rejects.toMatchObject({
      stdout: expect.stringMatching(/broken-check\.ts.*'"agent"' is not assignable/),
    });
  } finally {
    fs.rmSync(broken, { force: true });
  }
}, 120000);
