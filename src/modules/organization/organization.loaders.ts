import type { OrgRole, WorkspaceRole } from '../../auth/roles';
import { escapeLiteral } from 'pg';
import { isUuid, type TenantScope } from '../../db/tenant-scope';
import { entities } from '../../db/sql';
import { statementName, type PreparedStatement } from '../../db/prepared-plans';
import { Organization } from './organization.entity';

/**
 * The caller row of an API-key principal: the key must be live, answer to the member the token names, and that
 * member must still be one; their roles are the key's roles (org role caps its scopes; workspace visibility is
 * theirs). $1 the organization, $2 the member the key answers to (text or NULL), $3 the key (uuid or NULL).
 */
const API_KEY_CALLER = `SELECT o.*, km.role AS member_role, km.all_workspaces_role AS member_all_workspaces_role,
       (k.id IS NOT NULL AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
        AND k.owner_user_id IS NOT DISTINCT FROM $2
        AND (k.owner_user_id IS NULL OR km.user_id IS NOT NULL)) AS key_active
  FROM organizations o
  LEFT JOIN api_keys k ON k.org_id = o.id AND k.id = $3
  LEFT JOIN org_members km ON km.org_id = o.id AND km.user_id = k.owner_user_id
 WHERE o.id = $1`;

/** The caller row of a user: the organization and their membership. $1 the organization, $2 the user. */
const USER_CALLER = `SELECT o.*, m.role AS member_role, m.all_workspaces_role AS member_all_workspaces_role
  FROM organizations o LEFT JOIN org_members m ON m.org_id = o.id AND m.user_id = $2
 WHERE o.id = $1`;

/** A caller-row statement: its prepared form, and its text split at the `$n` (once, not per request). */
interface CallerStatement {
  name: string;
  prepare: string;
  /** [text, n, text, n, …, text]. */
  pieces: Array<string | number>;
}

const statementOf = (types: string[], text: string): CallerStatement => {
  const name = statementName(types, text);
  return {
    name,
    prepare: `PREPARE ${name}(${types.join(', ')}) AS ${text}`,
    pieces: text.split(/\$(\d)/).map((piece, i) => (i % 2 === 1 ? Number(piece) : piece)),
  };
};
const API_KEY_CALLER_STATEMENT = statementOf(['uuid', 'text', 'uuid'], API_KEY_CALLER);
const USER_CALLER_STATEMENT = statementOf(['uuid', 'text'], USER_CALLER);

/**
 * A caller-row statement with this request's literals (each checked or escaped): inline (each `$n` replaced by
 * its literal; a literal is never read as a pattern) and as the prepared statement's EXECUTE.
 */
function callerRead(statement: CallerStatement, literals: string[]): [string, PreparedStatement] {
  const inline = statement.pieces.map((piece) => (typeof piece === 'number' ? literals[piece - 1] : piece)).join('');
  return [
    inline,
    { name: statement.name, prepare: statement.prepare, execute: `EXECUTE ${statement.name}(${literals.join(', ')})` },
  ];
}

export interface Caller {
  organization: Organization | null;
  orgRole: OrgRole | null;
  allWorkspacesRole: WorkspaceRole | null;
  /** For API-key principals: the key exists, is not revoked and has not expired (checked every request). */
  apiKeyActive: boolean;
}

/** Per-request loaders of the organization module: the tenant root and the caller's standing in it. */
export class OrganizationLoaders {
  constructor(private readonly scope: TenantScope) {}

  /**
   * The organization row (the tenant root; RLS shows exactly one, or none) together with the caller's
   * membership, in one statement at the start of every request.
   */
  private callerRow?: Promise<Caller>;
  caller(): Promise<Caller> {
    this.callerRow ??= (async () => {
      const { userId, kind, apiKeyId } = this.scope.identity;
      // Literals, not parameters: this read rides in the round trip that opens the transaction (simple
      // protocol, TenantScope.openWith). The org id is a checked uuid; the others go through escapeLiteral.
      // The same statement goes as a prepared statement of the connection where DB_PREPARED_STATEMENTS allows
      // (issue 11: parsing and planning it was ~0.13 ms of PostgreSQL's CPU on every request; ~0.03 executed).
      const org = `'${this.scope.orgId}'::uuid`;
      const rows =
        kind === 'api_key'
          ? await this.scope.openWith(
              ...callerRead(API_KEY_CALLER_STATEMENT, [
                org,
                `${userId === null ? 'NULL' : escapeLiteral(userId)}::text`,
                `${isUuid(apiKeyId) ? `'${apiKeyId}'` : 'NULL'}::uuid`,
              ]),
            )
          : await this.scope.openWith(
              ...callerRead(USER_CALLER_STATEMENT, [org, `${escapeLiteral(userId ?? '')}::text`]),
            );
      if (rows.length === 0) return { organization: null, orgRole: null, allWorkspacesRole: null, apiKeyActive: false };
      const [organization] = await entities(this.scope, Organization, rows);
      return {
        organization,
        orgRole: (rows[0].member_role as OrgRole | null) ?? null,
        allWorkspacesRole: (rows[0].member_all_workspaces_role as WorkspaceRole | null) ?? null,
        apiKeyActive: rows[0].key_active === true,
      };
    })();
    return this.callerRow;
  }

  async current(): Promise<Organization | null> {
    return (await this.caller()).organization;
  }
}
