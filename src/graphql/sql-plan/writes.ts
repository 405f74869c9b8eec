import type { WorkspaceRole } from '../../auth/roles';
import { Component } from '../../modules/component/component.entity';
import { CreateComponentInput } from '../../modules/component/component.inputs';
import { CREATE_COMPONENT_ROLE, newComponentRow } from '../../modules/component/component.service';

/**
 * Planned writes (issue 11, W3; README "Known-document path"): a mutation the planner may send as ONE
 * statement in the request's opening round trip (`WITH created AS (INSERT … RETURNING *), audited AS
 * (INSERT INTO audit_log …) SELECT <the selection as JSON>`), committed in a second round trip only once
 * the same caller checks as the resolver's have passed. Each entry states what its service does, with the
 * service's own functions, so the two cannot drift:
 * - `input`: the input argument's class; the planner takes only an input that passes its validation
 *   (class-validator with type-graphql's options, src/graphql/validation.ts) and the input guards;
 * - `row`: the row the service inserts (the same function the service calls);
 * - `workspaceRole`: the role the service requires in the row's workspace. Planned only for callers whose
 *   caller row alone decides it (org owners and admins, all-workspaces roles, org-wide keys); the service
 *   then reads nothing before its INSERT either (`writeProvesWorkspace`: the foreign key proves the
 *   workspace). Every other caller, and every refusal or error, takes the resolver's path.
 */
export interface PlannedWrite {
  input: new () => object;
  entity: new () => object;
  row(orgId: string, input: object): Record<string, unknown>;
  workspaceRole: WorkspaceRole;
}

export const PLANNED_WRITES: Readonly<Record<string, PlannedWrite>> = {
  createComponent: {
    input: CreateComponentInput,
    entity: Component,
    row: (orgId, input) => newComponentRow(orgId, input as CreateComponentInput),
    workspaceRole: CREATE_COMPONENT_ROLE,
  },
};
