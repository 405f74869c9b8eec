/**
 * `npm run schema:check`: lists the changes between schema.graphql and the previous release's schema,
 * with @graphql-inspector/core's diff, and exits 1 when any is breaking and not acknowledged.
 *
 * The previous release's schema ("the baseline"), first found of:
 *   1. `--baseline <file>`                          (explicit; the tests use it)
 *   2. schema.graphql at the latest git tag `v*`    (`git describe --tags --abbrev=0 --match 'v*'`)
 *   3. schema.release.graphql, committed            (for checkouts without tags, e.g. shallow CI clones)
 * None found (no release yet): nothing to compare, exit 0 with a note.
 *
 * Acknowledging breaking changes (a major release, or a deliberate removal): list their paths (as
 * printed, e.g. `Query.workspace` or `Workspace.name`) in schema.acknowledged, one per line (`#` starts a
 * comment), or pass --accept-breaking. Acknowledged changes are still printed.
 *
 * Exit codes: 0 no unacknowledged breaking change, 1 breaking changes, 2 usage or baseline error.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildSchema } from 'graphql';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';

function projectRoot(dir: string): string {
  return fs.existsSync(path.join(dir, 'package.json')) ? dir : projectRoot(path.dirname(dir));
}

interface Options {
  root: string;
  schemaFile: string;
  baselineFile?: string;
  acknowledgedFile: string;
  acceptBreaking: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  // --root: another checkout (the tests use a scratch git repository with a v* tag).
  const rootAt = argv.indexOf('--root');
  const root = rootAt >= 0 && argv[rootAt + 1] ? path.resolve(argv[rootAt + 1]) : projectRoot(__dirname);
  if (rootAt >= 0) argv = [...argv.slice(0, rootAt), ...argv.slice(rootAt + 2)];
  const options: Options = {
    root,
    schemaFile: path.join(root, 'schema.graphql'),
    acknowledgedFile: path.join(root, 'schema.acknowledged'),
    acceptBreaking: false,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return path.resolve(next);
    };
    if (arg === '--baseline') options.baselineFile = value();
    else if (arg === '--schema') options.schemaFile = value();
    else if (arg === '--acknowledged') options.acknowledgedFile = value();
    else if (arg === '--accept-breaking') options.acceptBreaking = true;
    else if (arg === '--json') options.json = true;
    else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

function git(root: string, args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

function baseline(options: Options): { sdl: string; source: string } | null {
  if (options.baselineFile) return { sdl: fs.readFileSync(options.baselineFile, 'utf8'), source: options.baselineFile };
  const tag = git(options.root, ['describe', '--tags', '--abbrev=0', '--match', 'v*'])?.trim();
  if (tag) {
    const sdl = git(options.root, ['show', `${tag}:schema.graphql`]);
    if (sdl !== null) return { sdl, source: `schema.graphql at tag ${tag}` };
  }
  const release = path.join(options.root, 'schema.release.graphql');
  if (fs.existsSync(release)) return { sdl: fs.readFileSync(release, 'utf8'), source: 'schema.release.graphql' };
  return null;
}

function acknowledged(file: string): Set<string> {
  if (!fs.existsSync(file)) return new Set();
  return new Set(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter(Boolean),
  );
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`schema:check: ${(error as Error).message}`);
    return 2;
  }
  const previous = baseline(options);
  if (!previous) {
    console.log('schema:check: no previous release (no v* tag, no schema.release.graphql): nothing to compare.');
    return 0;
  }
  let changes: Change[];
  try {
    changes = await diff(buildSchema(previous.sdl), buildSchema(fs.readFileSync(options.schemaFile, 'utf8')));
  } catch (error) {
    console.error(`schema:check: cannot compare with ${previous.source}: ${(error as Error).message}`);
    return 2;
  }
  const accepted = acknowledged(options.acknowledgedFile);
  const isAcknowledged = (change: Change) =>
    options.acceptBreaking || (change.path !== undefined && accepted.has(change.path));
  const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
  const blocking = breaking.filter((c) => !isAcknowledged(c));

  if (options.json) {
    console.log(
      JSON.stringify(
        {
          baseline: previous.source,
          changes: changes.map((c) => ({
            level: c.criticality.level,
            path: c.path ?? null,
            message: c.message,
            acknowledged: c.criticality.level === CriticalityLevel.Breaking && isAcknowledged(c),
          })),
        },
        null,
        2,
      ),
    );
  } else {
    console.log(`schema:check: ${changes.length} change(s) against ${previous.source}`);
    const order = [CriticalityLevel.Breaking, CriticalityLevel.Dangerous, CriticalityLevel.NonBreaking];
    for (const level of order) {
      for (const change of changes.filter((c) => c.criticality.level === level)) {
        const note = level === CriticalityLevel.Breaking && isAcknowledged(change) ? ' (acknowledged)' : '';
        console.log(`  ${level.padEnd(12)} ${change.path ?? '-'}: ${change.message}${note}`);
      }
    }
  }
  if (blocking.length) {
    console.error(
      `schema:check: ${blocking.length} breaking change(s) not acknowledged. Keep the old field (mark it @deprecated), or list the paths in schema.acknowledged for a major release.`,
    );
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
