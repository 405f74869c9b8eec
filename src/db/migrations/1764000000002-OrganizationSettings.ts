import type { MigrationInterface, QueryRunner } from 'typeorm';
import { TENANT_ROLE } from './rls.v1';

/**
 * Organization settings live on the organization row (one-to-one, read with it at the start of every
 * request at no extra cost): branding, security, banner and the gateway trace configuration, with the
 * documented defaults. The tenant role may update exactly these columns (column-level grants).
 */
export class OrganizationSettings1764000000002 implements MigrationInterface {
  name = 'OrganizationSettings1764000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE organizations
        ADD COLUMN brand_primary_color text CHECK (brand_primary_color ~ '^#[0-9a-fA-F]{6}$'),
        ADD COLUMN brand_secondary_color text CHECK (brand_secondary_color ~ '^#[0-9a-fA-F]{6}$'),
        ADD COLUMN brand_accent_color text CHECK (brand_accent_color ~ '^#[0-9a-fA-F]{6}$'),
        ADD COLUMN brand_font_family text CHECK (char_length(brand_font_family) <= 100),
        ADD COLUMN require_mfa boolean NOT NULL DEFAULT false,
        ADD COLUMN allow_user_key_override boolean NOT NULL DEFAULT false,
        ADD COLUMN allow_workspace_llm_overrides boolean NOT NULL DEFAULT false,
        ADD COLUMN banner_message text CHECK (char_length(banner_message) <= 500),
        ADD COLUMN banner_variant text NOT NULL DEFAULT 'info' CHECK (banner_variant IN ('info', 'warning', 'error')),
        ADD COLUMN banner_dismissible boolean NOT NULL DEFAULT true,
        ADD COLUMN trace_mode text NOT NULL DEFAULT 'none' CHECK (trace_mode IN ('all', 'errors_only', 'sampled', 'none')),
        ADD COLUMN trace_sample_rate numeric(3, 2) NOT NULL DEFAULT 1.00 CHECK (trace_sample_rate BETWEEN 0 AND 1),
        ADD COLUMN trace_retention_days integer NOT NULL DEFAULT 30 CHECK (trace_retention_days BETWEEN 1 AND 365)`);
    await q.query(`
      GRANT UPDATE (brand_primary_color, brand_secondary_color, brand_accent_color, brand_font_family,
                    require_mfa, allow_user_key_override, allow_workspace_llm_overrides,
                    banner_message, banner_variant, banner_dismissible,
                    trace_mode, trace_sample_rate, trace_retention_days) ON organizations TO ${TENANT_ROLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE organizations
        DROP COLUMN brand_primary_color, DROP COLUMN brand_secondary_color, DROP COLUMN brand_accent_color,
        DROP COLUMN brand_font_family, DROP COLUMN require_mfa, DROP COLUMN allow_user_key_override,
        DROP COLUMN allow_workspace_llm_overrides, DROP COLUMN banner_message, DROP COLUMN banner_variant,
        DROP COLUMN banner_dismissible, DROP COLUMN trace_mode, DROP COLUMN trace_sample_rate, DROP COLUMN trace_retention_days`);
  }
}
