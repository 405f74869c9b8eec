import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TENANT_ROLE as FROZEN_TENANT_ROLE } from '../../src/db/migrations/rls.v1';
import { TENANT_ROLE } from '../../src/db/tenant-role';

/**
 * A migration's SQL never changes after it is written (README "Migrations"): the database of a fresh
 * install must be the database every running install migrated into. Like Flyway's checksums, every
 * migration file (and each frozen, versioned helper they use) is pinned here by its SHA-256. A new migration
 * adds its line; an edit to an old one fails this test, and the fix is a new migration, not a new hash.
 */
const PINNED: Record<string, string> = {
  '1764000000000-TenantCore.ts': 'b877e988d058eb99dec67c03726c44cb615732e9df9d8f413140a4f68b0cd749',
  '1764000000001-Membership.ts': 'bc794513d2fed6ef62358db0e72ed7e953400cbdfa01e003be575b7c50e678a8',
  '1764000000002-OrganizationSettings.ts': 'b1d2f1d51043e6518bb0dac08be9223eb3ba579c1b75076c4999096a8d9ad981',
  '1764000000003-Billing.ts': '63bfe933a74eb8bb543b26e78a8cbddac56e6c6ea339a7decac3cc5a7724d5fa',
  '1764000000004-Deployments.ts': '8545bc89d603cf00c86ceeff37a2ef1b38c57053e34f78df5b8471ce5f282e28',
  '1764000000005-Secrets.ts': '7d728e921d19f5f75fd8a1e229da756e4f5824a1788f29907572672c354074ac',
  '1764000000006-AuditLog.ts': '7167daa55b455c4840f5a74067e38b123c3bd4bd1cc62b2512846d626e671de1',
  '1764000000007-ApiKeys.ts': 'dec16c08c4e956a843aa8bd5fde8f4b741e0f88f656beff210289bc9d3679989',
  '1764000000008-InlineWorkspaceVisibility.ts': '159581e7d09ade3f8c2a9aa1d623aba5eb5091f9fd800445c8fad487706b80cd',
  '1764000000009-ApiKeyOwners.ts': 'ad1c3c960e0199c8b17e679595535b73ed9b14c6ac0391123e779abd7fde4f7e',
  '1764000000010-UsageIdempotency.ts': 'ea7b514136118c3c80ef348ed7330ac82c4c0c628320f5ab196970c9b1a39489',
  '1764000000011-Traces.ts': 'cbad9eb348cf496dc9490d14f9c388f3d69a0278cd2d4cf60b34f1132ffaa7f0',
  'rls.v1.ts': '54668ae09a69cf07054cb678efd91568cfb2c3cdb08011037e59d8f3496122bb',
};

const DIR = path.join(__dirname, '../../src/db/migrations');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.ts'));
const sha256 = (file: string) =>
  crypto
    .createHash('sha256')
    .update(fs.readFileSync(path.join(DIR, file)))
    .digest('hex');

describe('frozen migrations', () => {
  test.each(Object.keys(PINNED))('%s is unchanged since it was written', (file) => {
    expect(sha256(file)).toBe(PINNED[file]);
  });

  test('every file in src/db/migrations is a pinned migration or a new one (no live helpers)', () => {
    for (const file of files) expect(file).toMatch(/^\d{13}-\w+\.ts$|^\w+\.v\d+\.ts$/);
  });

  test.each(files)('%s imports only typeorm types and frozen, versioned helpers', (file) => {
    const source = fs.readFileSync(path.join(DIR, file), 'utf8');
    const imports = [...source.matchAll(/^\s*import\s[^;]*?from\s+'([^']+)'/gms)].map((m) => ({
      statement: m[0].trim(),
      from: m[1],
    }));
    for (const { statement, from } of imports) {
      const allowed = (from === 'typeorm' && statement.startsWith('import type')) || /^\.\/\w+\.v\d+$/.test(from);
      expect({ file, statement, allowed }).toEqual({ file, statement, allowed: true });
    }
    expect(source).not.toMatch(/\brequire\(/);
  });

  test("the serving code's role is the role the migrations created", () => {
    expect(TENANT_ROLE).toBe(FROZEN_TENANT_ROLE);
  });
});
