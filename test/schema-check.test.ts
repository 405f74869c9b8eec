import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './support/gateway';

/** `npm run schema:check` (scripts/schema-check.ts): breaking changes against the previous release's schema. */
const execFileAsync = promisify(execFile);
const SCRIPT = path.join(ROOT, 'dist/scripts/schema-check.js');
const current = fs.readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8');

async function check(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [SCRIPT, ...args]);
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-check-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The current schema with Workspace.description removed (breaking) and nothing else. */
function withoutWorkspaceDescription(sdl: string): string {
  const changed = sdl.replace(
    /(type Workspace implements Node[^{]*\{[\s\S]*?)\n {2}"""[^"]*"""\n {2}description: String\n/,
    '$1\n',
  );
  expect(changed).not.toBe(sdl);
  return changed;
}

test('no change against the same schema: exit 0', async () => {
  fs.writeFileSync(path.join(dir, 'baseline.graphql'), current);
  expect(await check(['--baseline', path.join(dir, 'baseline.graphql')])).toEqual({
    code: 0,
    out: expect.stringMatching(/0 change\(s\)/),
  });
});

test('a removed field is listed as breaking and fails the check until acknowledged; an added one is not breaking', async () => {
  // Baseline: the current schema. New schema: one field removed, one optional argument added.
  const baseline = path.join(dir, 'baseline.graphql');
  const next = path.join(dir, 'next.graphql');
  fs.writeFileSync(baseline, current);
  fs.writeFileSync(next, withoutWorkspaceDescription(current));
  const refused = await check(['--baseline', baseline, '--schema', next, '--acknowledged', path.join(dir, 'none')]);
  expect(refused.code).toBe(1);
  expect(refused.out).toMatch(/BREAKING\s+Workspace\.description: Field 'description' .*removed/);
  expect(refused.out).toMatch(/1 breaking change\(s\) not acknowledged/);

  // Adding is not breaking (the reverse diff).
  const added = await check(['--baseline', next, '--schema', baseline, '--acknowledged', path.join(dir, 'none')]);
  expect(added.code).toBe(0);
  expect(added.out).toMatch(/NON_BREAKING\s+Workspace\.description: Field 'description' was added/);

  const ack = path.join(dir, 'schema.acknowledged');
  fs.writeFileSync(ack, '# v2: descriptions moved elsewhere\nWorkspace.description\n');
  const accepted = await check(['--baseline', baseline, '--schema', next, '--acknowledged', ack]);
  expect(accepted).toEqual({ code: 0, out: expect.stringMatching(/Workspace\.description: .*\(acknowledged\)/) });
  expect((await check(['--baseline', baseline, '--schema', next, '--accept-breaking'])).code).toBe(0);
});

test('without --baseline the previous release is schema.graphql at the latest v* tag', async () => {
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, stdio: 'ignore' });
  git('init', '-q');
  fs.writeFileSync(path.join(dir, 'package.json'), '{}');
  fs.writeFileSync(path.join(dir, 'schema.graphql'), current);
  git('add', '.');
  git('commit', '-qm', 'release');
  git('tag', 'v1.0.0');
  expect(await check(['--root', dir])).toEqual({
    code: 0,
    out: expect.stringMatching(/0 change\(s\) against schema\.graphql at tag v1\.0\.0/),
  });
  fs.writeFileSync(path.join(dir, 'schema.graphql'), withoutWorkspaceDescription(current));
  const refused = await check(['--root', dir]);
  expect(refused.code).toBe(1);
  expect(refused.out).toMatch(/against schema\.graphql at tag v1\.0\.0[\s\S]*BREAKING\s+Workspace\.description/);
});

test('no tag and no schema.release.graphql: nothing to compare', async () => {
  fs.writeFileSync(path.join(dir, 'package.json'), '{}');
  fs.writeFileSync(path.join(dir, 'schema.graphql'), current);
  expect(await check(['--root', dir])).toEqual({ code: 0, out: expect.stringMatching(/no previous release/) });
});
