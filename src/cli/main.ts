#!/usr/bin/env node
import 'reflect-metadata';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../logger';
import { openDatabases, type Databases } from '../db/database';
import { loadSigningKey } from '../auth/keys';
import { TokenService } from '../auth/tokens';
import { SCOPES, isScope } from '../auth/scopes';
import { OrganizationStatus, SupportTier } from '../modules/organization/organization.entity';
import {
  PlatformError,
  auditPlatformOperation,
  organizationPlatform,
} from '../modules/organization/organization.platform';
import { seedDemo } from './seed';
import { asPlatformAdmin } from '../db/platform';
import { insertApiKey } from '../modules/api-key/api-key.service';
import { billingPlatform } from '../modules/billing/billing.platform';
import { BillingCycle, SubscriptionStatus, type ProductSubscription } from '../modules/billing/billing.entity';
import crypto from 'node:crypto';
import { startEmbeddedPostgres } from '../db/embedded';
import { DEFAULT_SERVING_LOGIN, ensureServingLogin } from '../db/serving-login';
import { Keyring } from '../secrets/keyring';
import { reencryptAll, rotateKeys } from '../secrets/rotation';

/**
 * Operator commands (`npm run cli -- <command>`, or the package's `manifest-gateway` bin). They use the
 * same configuration as the server: DATABASE_URL, or the embedded PostgreSQL under DATA_DIR (reused
 * when the gateway is already running on it, started for the command otherwise). `--json` everywhere.
 */
const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
})();
const log = createLogger({ logLevel: process.env.LOG_LEVEL || 'warn' }, 2);

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

async function withDatabases<T>(work: (db: Databases) => Promise<T>): Promise<T> {
  const databases = await openDatabases(config, log, { reuseRunningEmbedded: true, poolSize: 2 });
  try {
    return await work(databases);
  } finally {
    await databases.close();
  }
}

const program = new Command('manifest-gateway').description('manifest-gateway operator commands').showHelpAfterError();

const org = program.command('org').description('platform operations on organizations');
org
  .command('create')
  .description('create an organization (a platform-admin operation)')
  .requiredOption('--name <name>', 'display name')
  .requiredOption('--slug <slug>', 'URL-safe identifier, unique across the platform')
  .requiredOption('--owner-email <email>', "the first owner's e-mail")
  .option('--owner-id <userId>', "the first owner's user id (their tokens' sub; default: the e-mail)")
  .option('--domain <domain>', 'primary domain')
  .addOption(
    new Option('--support-tier <tier>', 'support tier').choices(Object.values(SupportTier)).default('community'),
  )
  .option('--owner-api-key', "also create an API key answering to the owner, with the owner's scopes (printed once)")
  .option('--json', 'print JSON')
  .action(async (options) =>
    withDatabases(async ({ owner }) => {
      const created = await organizationPlatform.create(owner, {
        name: options.name,
        slug: options.slug,
        primaryDomain: options.domain,
        supportTier: options.supportTier,
        owner: { userId: options.ownerId, email: options.ownerEmail },
      });
      let apiKey: { key: string; id: string; prefix: string } | undefined;
      if (options.ownerApiKey) {
        const ownerId = (await organizationPlatform.firstOwner(owner, created.id))!;
        apiKey = await asPlatformAdmin(owner, async (manager) => {
          const key = await insertApiKey(manager, created.id, {
            name: 'owner key',
            description: 'created with the organization',
            scopes: [...SCOPES],
            expiresAt: null,
            createdBy: 'platform-admin',
            ownerUserId: ownerId,
          });
          await auditPlatformOperation(manager, created.id, 'createApiKey', { type: 'ApiKey', id: key.apiKey.id });
          return { key: key.key, id: key.apiKey.id, prefix: key.apiKey.prefix };
        });
      }
      print(
        options.json,
        apiKey ? { ...created, apiKey } : created,
        `created organization ${created.slug} (${created.id})` +
          (apiKey ? `\nowner API key (store it now, it is never shown again): ${apiKey.key}` : '') +
          `\nnext: npm run cli -- token --org ${created.slug}`,
      );
    }),
  );
org
  .command('list')
  .option('--json', 'print JSON')
  .action(async (options) =>
    withDatabases(async ({ owner }) => {
      const all = await organizationPlatform.list(owner);
      print(
        options.json,
        all,
        all.map((o) => `${o.slug}\t${o.id}\t${o.status}\t${o.name}`).join('\n') || '(no organizations)',
      );
    }),
  );
org
  .command('set-status')
  .description('suspend, archive or reactivate an organization (a platform-admin operation)')
  .requiredOption('--org <slug-or-id>')
  .addOption(new Option('--status <status>').choices(Object.values(OrganizationStatus)).makeOptionMandatory())
  .option('--json', 'print JSON')
  .action(async (options) =>
    withDatabases(async ({ owner }) => {
      const updated = await organizationPlatform.setStatus(owner, options.org, options.status);
      print(options.json, updated, `${updated.slug} is now ${updated.status}`);
    }),
  );

org
  .command('set-support-tier')
  .description("change an organization's support tier (a platform-admin operation)")
  .requiredOption('--org <slug-or-id>')
  .addOption(new Option('--tier <tier>').choices(Object.values(SupportTier)).makeOptionMandatory())
  .option('--json', 'print JSON')
  .action(async (options) =>
    withDatabases(async ({ owner }) => {
      const updated = await organizationPlatform.setSupportTier(owner, options.org, options.tier);
      print(options.json, updated, `${updated.slug} is now on ${updated.supportTier} support`);
    }),
  );
const describeSubscription = (s: ProductSubscription) =>
  `${s.id}\t${s.productName}\t${s.status}\t${s.billingCycle}\tauto-renew ${s.autoRenew ? 'on' : 'off'}${s.trialEndDate ? `\ttrial ends ${s.trialEndDate}` : ''}`;

const billing = program
  .command('billing')
  .description('platform operations on subscriptions and credits (the billing system)');
billing
  .command('subscribe')
  .description('add a product subscription to an organization')
  .requiredOption('--org <slug-or-id>', 'organization')
  .requiredOption('--product <name>', 'product name')
  .requiredOption('--status <status>', Object.values(SubscriptionStatus).join(' | '))
  .requiredOption('--cycle <cycle>', Object.values(BillingCycle).join(' | '))
  .option('--auto-renew', 'renew automatically', false)
  .option('--trial-end <YYYY-MM-DD>', 'end of the trial (required with --status trial)')
  .option('--json', 'print JSON')
  .action(async (options) =>
    withDatabases(async ({ owner }) => {
      const created = await billingPlatform.subscribe(owner, {
        org: options.org,
        productName: options.product,
        status: options.status,
        billingCycle: options.cycle,
        autoRenew: options.autoRenew === true,
        trialEndDate: options.trialEnd,
      });
      print(options.json, created, `subscribed: ${describeSubscription(created)}`);
    }),
  );
billing
  .command('set-subscription-status')
  .description('change the status of a subscription (cancelled and expired are final)')
  .requiredOption('--org <slug-or-id>', 'organization')
  .requiredOption('--id <id>', 'subscription id')
  .requiredOption('--status <status>', Object.values(SubscriptionStatus).join(' | '))
  .option('--trial-end <YYYY-MM-DD>', 'end of the trial (with --status trial)')
  .option('--json', 'print JSON')
  .action(async (options) =>
    withDatabases(async ({ owner }) => {
      const updated = await billingPlatform.setSubscriptionStatus(owner, {
        org: options.org,
        id: options.id,
        status: options.status,
        trialEndDate: options.trialEnd,
      });
      print(options.json, updated, describeSubscription(updated));
    }),
  );
/** `grant` and `adjust`: one ledger entry through the billing platform path, then the new balance. */
for (const [name, description, amountHelp, done] of [
  [
    'grant',
    "add credits to an organization's balance (ledger actor: platform)",
    'credits to add (a positive whole number)',
    'granted',
  ],
  [
    'adjust',
    'correct the balance by a signed amount, e.g. --amount -50 (never below 0; ledger actor: platform)',
    'a non-zero whole number, negative to remove credits',
    'adjusted by',
  ],
] as const) {
  billing
    .command(name)
    .description(description)
    .requiredOption('--org <slug-or-id>', 'organization')
    .requiredOption('--amount <n>', amountHelp)
    .requiredOption('--reason <text>', 'why (recorded in the ledger)')
    .option('--json', 'print JSON')
    .action(async (options) =>
      withDatabases(async ({ owner }) => {
        const input = { org: options.org, amount: options.amount, reason: options.reason };
        const result = await billingPlatform[name](owner, input);
        print(
          options.json,
          result,
          `${done} ${result.entry.amount}${name === 'grant' ? ' credits' : ''}; balance ${result.balance} (entry ${result.entry.id})`,
        );
      }),
    );
}
billing
  .command('show')
  .description("an organization's subscriptions and credit balance")
  .requiredOption('--org <slug-or-id>', 'organization')
  .option('--json', 'print JSON')
  .action(async (options) =>
    withDatabases(async ({ owner }) => {
      const shown = await billingPlatform.show(owner, options.org);
      print(
        options.json,
        shown,
        [`balance ${shown.credits.balance}`, ...shown.subscriptions.map(describeSubscription)].join('\n'),
      );
    }),
  );

program
  .command('token')
  .description("mint a development token signed with the gateway's key")
  .requiredOption('--org <slug-or-id>', 'organization')
  .option('--sub <subject>', "subject (user id; default: the organization's first owner)")
  .option('--scopes <scopes>', `comma- or space-separated scopes (default: all of ${SCOPES.join(', ')})`)
  .option('--ttl <seconds>', 'lifetime in seconds', String(config.jwt.defaultTtlSeconds))
  .option('--json', 'print JSON')
  .action(async (options) => {
    const scopes = options.scopes
      ? String(options.scopes)
          .split(/[\s,]+/)
          .filter(Boolean)
      : [...SCOPES];
    const unknown = scopes.filter((s) => !isScope(s));
    if (unknown.length) fail(`unknown scope(s): ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`);
    const ttl = Number(options.ttl);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 86400) fail('--ttl must be between 1 and 604800 seconds');
    const { organization, subject } = await withDatabases(async ({ owner }) => {
      const found = await organizationPlatform.find(owner, options.org);
      return {
        organization: found,
        subject: (options.sub as string | undefined) ?? (await organizationPlatform.firstOwner(owner, found.id)),
      };
    });
    if (!subject) fail(`organization ${organization.slug} has no owner; pass --sub`);
    const tokens = new TokenService(config, await loadSigningKey(config.jwt.privateKey, config.dataDir));
    const minted = await tokens.mint({ orgId: organization.id, subject, scopes, ttlSeconds: ttl });
    print(
      options.json,
      {
        access_token: minted.token,
        token_type: 'Bearer',
        expires_in: minted.expiresIn,
        scope: scopes.join(' '),
        org: organization.id,
        sub: subject,
      },
      minted.token,
    );
  });

program
  .command('migrate')
  .description('apply pending migrations')
  .option('--json', 'print JSON')
  .action(async (options) =>
    withDatabases(async ({ owner }) => {
      const migrations = await owner.query(`SELECT name FROM migrations ORDER BY id`);
      print(
        options.json,
        { applied: migrations.map((m: { name: string }) => m.name) },
        `schema is up to date (${migrations.length} migrations)`,
      );
    }),
  );

const apikey = program.command('apikey').description("API keys (platform path: for an organization's first key)");
apikey
  .command('create')
  .description('create an API key for an organization; its value is printed once')
  .requiredOption('--org <slug-or-id>', 'organization')
  .requiredOption('--name <name>', 'key name')
  .option('--description <text>', 'description')
  .option('--scopes <scopes>', `comma- or space-separated scopes (default: all of ${SCOPES.join(', ')})`)
  .option('--json', 'print JSON')
  .action(async (options) => {
    const scopes = options.scopes
      ? String(options.scopes)
          .split(/[\s,]+/)
          .filter(Boolean)
      : [...SCOPES];
    const unknown = scopes.filter((s) => !isScope(s));
    if (unknown.length) fail(`unknown scope(s): ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`);
    const name = String(options.name).trim();
    if (!name || name.length > 100) fail('--name must be 1 to 100 characters');
    await withDatabases(async ({ owner }) => {
      const organization = await organizationPlatform.find(owner, options.org);
      const created = await asPlatformAdmin(owner, async (manager) => {
        const key = await insertApiKey(manager, organization.id, {
          name,
          description: options.description ?? null,
          scopes: [...new Set(scopes)].sort(),
          expiresAt: null,
          createdBy: 'platform-admin',
          ownerUserId: null,
        });
        await auditPlatformOperation(manager, organization.id, 'createApiKey', { type: 'ApiKey', id: key.apiKey.id });
        return key;
      });
      print(
        options.json,
        {
          key: created.key,
          id: created.apiKey.id,
          prefix: created.apiKey.prefix,
          scopes: created.apiKey.scopes,
          org: organization.id,
        },
        `${created.key}\n(store it now: it is never shown again; exchange it with POST /auth/token)`,
      );
    });
  });

const db = program.command('db').description('database administration');
db.command('url')
  .description('print the connection URLs in use (the embedded ones under DATA_DIR, or DATABASE_URL)')
  .option('--json', 'print JSON')
  .action(async (options) => {
    const urls = config.databaseUrl
      ? { database_url: config.databaseUrl, app_database_url: config.appDatabaseUrl ?? null }
      : await (async () => {
          const embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, log, {
            reuseRunning: true,
            kind: 'cli',
          });
          await embedded.stop();
          return { database_url: embedded.url, app_database_url: embedded.servingLogin.url };
        })();
    print(options.json, urls, `DATABASE_URL=${urls.database_url}\nAPP_DATABASE_URL=${urls.app_database_url ?? ''}`);
  });
db.command('create-serving-login')
  .description(
    'create (or reset the password of) a LOGIN role that can only act as the tenant role; use it as APP_DATABASE_URL',
  )
  .option('--name <name>', 'role name', DEFAULT_SERVING_LOGIN)
  .option('--password <password>', 'password (default: generated and printed once)')
  .option('--json', 'print JSON')
  .action(async (options) =>
    withDatabases(async ({ owner }) => {
      const password = options.password ?? crypto.randomBytes(18).toString('base64url');
      await ensureServingLogin(owner, options.name, password);
      const url = new URL(config.databaseUrl ?? (owner.options as { url: string }).url);
      url.username = options.name;
      url.password = password;
      print(
        options.json,
        { name: options.name, app_database_url: url.toString() },
        `APP_DATABASE_URL=${url.toString()}`,
      );
    }),
  );

const keys = program
  .command('keys')
  .description('encryption keys of secrets at rest (cloud credentials, connector secrets)');
keys
  .command('rotate')
  .description('add a new key version and make it current (then run `keys reencrypt`); old versions stay decryptable')
  .option('--json', 'print JSON')
  .action(async (options) => {
    const rotated = rotateKeys(config.encryption, config.dataDir);
    const text = rotated.install
      ? `new key version ${rotated.newVersion} (was ${rotated.previousVersion}). Install in the deployment's secret store:\n` +
        `  ENCRYPTION_KEYS='${rotated.install.ENCRYPTION_KEYS}'\n  ENCRYPTION_KEY_CURRENT=${rotated.install.ENCRYPTION_KEY_CURRENT}\n` +
        `restart every gateway replica with them, then run with the same variables: npm run cli -- keys reencrypt\n` +
        `remove version ${rotated.previousVersion} only after keys reencrypt reports nothing unreadable`
      : `new key version ${rotated.newVersion} (was ${rotated.previousVersion}) written to ${rotated.file}\n` +
        `next: npm run cli -- keys reencrypt (a running gateway picks the new key up on its next write)`;
    print(options.json, rotated, text);
  });
keys
  .command('reencrypt')
  .description('re-encrypt every sealed value under the current key version (a platform-admin operation)')
  .option('--json', 'print JSON')
  .action(async (options) => {
    const keyring = Keyring.load(config.encryption, config.dataDir);
    const result = await withDatabases(({ owner }) => reencryptAll(owner, keyring));
    const lines = Object.entries(result.tables).map(
      ([table, c]) =>
        `${table}: ${c.sealed} sealed, ${c.reencrypted} re-encrypted, ${c.alreadyCurrent} already current, ${c.unreadable} unreadable`,
    );
    print(options.json, result, [`current key version ${result.currentVersion}`, ...lines].join('\n'));
    if (result.unreadable.length) {
      process.stderr.write(
        `error: ${result.unreadable.length} sealed value(s) could not be opened (left unchanged): ${result.unreadable.map((u) => `${u.table} ${u.id}`).join(', ')}\n`,
      );
      process.exitCode = 3;
    }
  });

program
  .command('seed')
  .description('create a demo organization with workspaces, environments and components')
  .option('--slug <slug>', 'demo organization slug', 'demo')
  .option('--json', 'print JSON')
  .action(async (options) =>
    withDatabases(async ({ owner }) => {
      const result = await seedDemo(owner, options.slug);
      print(
        options.json,
        result,
        `seeded ${result.slug} (${result.orgId}): ${result.workspaces} workspaces\nnext: npm run cli -- token --org ${result.slug}`,
      );
    }),
  );

program.parseAsync().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) =>
    fail(error instanceof PlatformError ? error.message : error instanceof Error ? error.message : String(error)),
);
