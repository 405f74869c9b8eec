import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SAME_ORG, TENANT_ROLE, protectTenantTable } from './rls.v1';

/**
 * Deployment rings, promotion history, the current deployment state, and workspace LLM proxy settings.
 *
 * - deployment_rings: ordered (position 0, 1, 2… unique per workspace) stages of a workspace's release
 *   pipeline, each bound to an environment of the SAME workspace. The schema enforces "same workspace"
 *   with composite foreign keys on (org_id, workspace_id, …), which needs UNIQUE (org_id, workspace_id, id)
 *   on environments and components.
 * - deployment_promotions: append-only history (the tenant role may only SELECT and INSERT): who, when,
 *   component, from ring (NULL for a deploy into the first ring), to ring, version, request id.
 * - ring_deployments: which version of each component is in each ring now; every row points at the
 *   history row that put it there. Promotions lock the rows they read and write (see deployment.service).
 * - workspace_llm_settings: one row per workspace, model routing used by the LLM proxy when the
 *   organization permits workspace overrides.
 */
export class Deployments1764000000004 implements MigrationInterface {
  name = 'Deployments1764000000004';

  async up(q: QueryRunner): Promise<void> {
    // Targets for "same workspace" foreign keys: (org_id, workspace_id, id) is unique since (org_id, id) is.
    await q.query(`ALTER TABLE environments ADD CONSTRAINT environments_workspace_id_key UNIQUE (org_id, workspace_id, id)`);
    await q.query(`ALTER TABLE components ADD CONSTRAINT components_workspace_id_key UNIQUE (org_id, workspace_id, id)`);

    await q.query(`
      CREATE TABLE deployment_rings (
        org_id uuid NOT NULL,
        id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
        position integer NOT NULL CHECK (position BETWEEN 0 AND 99),
        environment_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, id),
        CONSTRAINT deployment_rings_workspace_id_key UNIQUE (org_id, workspace_id, id),
        CONSTRAINT deployment_rings_name_key UNIQUE (org_id, workspace_id, name),
        -- Deferrable so that inserting or removing a ring can shift the following positions in one statement.
        CONSTRAINT deployment_rings_position_key UNIQUE (org_id, workspace_id, position) DEFERRABLE INITIALLY IMMEDIATE,
        FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE,
        -- An environment of the same workspace; it cannot be deleted while a ring deploys to it.
        CONSTRAINT deployment_rings_environment_fkey FOREIGN KEY (org_id, workspace_id, environment_id)
          REFERENCES environments (org_id, workspace_id, id)
      )`);
    await q.query(`CREATE INDEX deployment_rings_environment_idx ON deployment_rings (org_id, environment_id)`);

    await q.query(`
      CREATE TABLE deployment_promotions (
        org_id uuid NOT NULL,
        id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        component_id uuid NOT NULL,
        from_ring_id uuid,
        to_ring_id uuid NOT NULL,
        version text NOT NULL CHECK (char_length(version) BETWEEN 1 AND 100),
        promoted_by text NOT NULL CHECK (char_length(promoted_by) BETWEEN 1 AND 300),
        request_id text NOT NULL CHECK (char_length(request_id) BETWEEN 1 AND 64),
        -- The moment of the write (not the transaction start), in step with the (UUIDv7) id order.
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (org_id, id),
        CHECK (from_ring_id IS DISTINCT FROM to_ring_id),
        FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE,
        -- Deleting a component deletes its deployment history with it.
        FOREIGN KEY (org_id, workspace_id, component_id) REFERENCES components (org_id, workspace_id, id) ON DELETE CASCADE,
        -- NO ACTION: a ring with history cannot be deleted (deleting the workspace removes both at once).
        CONSTRAINT deployment_promotions_from_ring_fkey FOREIGN KEY (org_id, workspace_id, from_ring_id)
          REFERENCES deployment_rings (org_id, workspace_id, id),
        CONSTRAINT deployment_promotions_to_ring_fkey FOREIGN KEY (org_id, workspace_id, to_ring_id)
          REFERENCES deployment_rings (org_id, workspace_id, id)
      )`);
    // DeploymentRing.promotions pages newest first; the others serve foreign-key checks and cascades.
    await q.query(`CREATE INDEX deployment_promotions_to_ring_idx ON deployment_promotions (org_id, to_ring_id, id)`);
    await q.query(`CREATE INDEX deployment_promotions_from_ring_idx ON deployment_promotions (org_id, from_ring_id)`);
    await q.query(`CREATE INDEX deployment_promotions_component_idx ON deployment_promotions (org_id, component_id)`);

    await q.query(`
      CREATE TABLE ring_deployments (
        org_id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        ring_id uuid NOT NULL,
        component_id uuid NOT NULL,
        version text NOT NULL CHECK (char_length(version) BETWEEN 1 AND 100),
        promotion_id uuid NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, ring_id, component_id),
        FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE,
        FOREIGN KEY (org_id, workspace_id, ring_id) REFERENCES deployment_rings (org_id, workspace_id, id) ON DELETE CASCADE,
        FOREIGN KEY (org_id, workspace_id, component_id) REFERENCES components (org_id, workspace_id, id) ON DELETE CASCADE,
        FOREIGN KEY (org_id, promotion_id) REFERENCES deployment_promotions (org_id, id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ring_deployments_component_idx ON ring_deployments (org_id, component_id)`);
    await q.query(`CREATE INDEX ring_deployments_promotion_idx ON ring_deployments (org_id, promotion_id)`);

    await q.query(`
      CREATE TABLE workspace_llm_settings (
        org_id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        default_provider text NOT NULL CHECK (default_provider IN ('openai', 'anthropic', 'google', 'azure_openai', 'bedrock')),
        default_model text NOT NULL CHECK (char_length(default_model) BETWEEN 1 AND 100),
        fallback_provider text CHECK (fallback_provider IN ('openai', 'anthropic', 'google', 'azure_openai', 'bedrock')),
        fallback_model text CHECK (char_length(fallback_model) BETWEEN 1 AND 100),
        routes jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(routes) = 'array' AND jsonb_array_length(routes) <= 50),
        updated_by text NOT NULL CHECK (char_length(updated_by) BETWEEN 1 AND 300),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, workspace_id),
        CHECK ((fallback_provider IS NULL) = (fallback_model IS NULL)),
        FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
      )`);

    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON deployment_rings, workspace_llm_settings TO ${TENANT_ROLE}`);
    // History is append-only for the application. Cascades (workspace or component deleted) run as the
    // table owner, so they need no DELETE grant here.
    await q.query(`GRANT SELECT, INSERT ON deployment_promotions TO ${TENANT_ROLE}`);
    await q.query(`GRANT SELECT, INSERT, UPDATE ON ring_deployments TO ${TENANT_ROLE}`);

    for (const table of ['deployment_rings', 'deployment_promotions', 'ring_deployments', 'workspace_llm_settings']) {
      await protectTenantTable(q, table, `${SAME_ORG} AND app_sees_workspace(workspace_id)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE workspace_llm_settings, ring_deployments, deployment_promotions, deployment_rings`);
    await q.query(`ALTER TABLE components DROP CONSTRAINT components_workspace_id_key`);
    await q.query(`ALTER TABLE environments DROP CONSTRAINT environments_workspace_id_key`);
  }
}
