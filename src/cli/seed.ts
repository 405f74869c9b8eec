import { v7 as uuidv7 } from 'uuid';
import type { DataSource } from 'typeorm';
import { asPlatformAdmin } from '../db/platform';
import { organizationPlatform } from '../modules/organization/organization.platform';

/** Demo data for trying the gateway: two workspaces, each with three environments and some components. */
export async function seedDemo(
  owner: DataSource,
  slug: string,
): Promise<{ orgId: string; slug: string; workspaces: number }> {
  const organization = await organizationPlatform.create(owner, {
    name: `Demo (${slug})`,
    slug,
    primaryDomain: 'demo.example.com',
    owner: { userId: 'demo-owner', email: `owner@${slug}.example.com`, displayName: 'Demo Owner' },
  });
  const workspaces = [
    { name: 'Storefront', description: 'Customer-facing agents and workflows' },
    { name: 'Back office', description: 'Internal automation' },
  ];
  await asPlatformAdmin(owner, async (manager) => {
    for (const workspace of workspaces) {
      const workspaceId = uuidv7();
      await manager.query(`INSERT INTO workspaces (org_id, id, name, description) VALUES ($1, $2, $3, $4)`, [
        organization.id,
        workspaceId,
        workspace.name,
        workspace.description,
      ]);
      for (const [tier, host] of [
        ['dev', 'localhost'],
        ['stage', 'cloudrun'],
        ['prod', 'aws'],
      ]) {
        await manager.query(
          `INSERT INTO environments (org_id, id, workspace_id, name, slug, tier, deployment_host, execution_backend)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            organization.id,
            uuidv7(),
            workspaceId,
            tier.toUpperCase(),
            tier,
            tier,
            host,
            { runtime: 'node20', replicas: tier === 'prod' ? 3 : 1 },
          ],
        );
      }
      for (const [type, name] of [
        ['agent', 'Support agent'],
        ['workflow', 'Order sync'],
        ['code_block', 'Price formatter'],
        ['hosted_service', 'Webhook relay'],
      ]) {
        await manager.query(
          `INSERT INTO components (org_id, id, workspace_id, type, name, configuration) VALUES ($1, $2, $3, $4, $5, $6)`,
          [organization.id, uuidv7(), workspaceId, type, name, { version: '1.0.0' }],
        );
      }
    }
  });
  return { orgId: organization.id, slug, workspaces: workspaces.length };
}
