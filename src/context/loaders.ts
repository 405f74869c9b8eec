import type { TenantScope } from '../db/tenant-scope';
import { OrganizationLoaders } from '../modules/organization/organization.loaders';
import { WorkspaceLoaders } from '../modules/workspace/workspace.loaders';
import { EnvironmentLoaders } from '../modules/environment/environment.loaders';
import { ComponentLoaders } from '../modules/component/component.loaders';
import { ConnectorLoaders } from '../modules/connector/connector.loaders';
import { MemberLoaders } from '../modules/member/member.loaders';
import { DeploymentLoaders } from '../modules/deployment/deployment.loaders';
import { LlmLoaders } from '../modules/llm/llm.loaders';
import { ApiKeyLoaders } from '../modules/api-key/api-key.loaders';
import { AuditLoaders } from '../modules/audit/audit.loaders';
import { BillingLoaders } from '../modules/billing/billing.loaders';

export type { Caller } from '../modules/organization/organization.loaders';

/**
 * The request's DataLoaders: each module owns its `<feature>.loaders.ts`; this composes them with the
 * request's scope. Created per request (RequestContext.loaders), dropped with it. Never module-level:
 * a loader caches, and its cache must not outlive the request's transaction and its row-level security.
 */
export class Loaders {
  readonly organization: OrganizationLoaders;
  readonly workspace: WorkspaceLoaders;
  readonly environment: EnvironmentLoaders;
  readonly component: ComponentLoaders;
  readonly connector: ConnectorLoaders;
  readonly member: MemberLoaders;
  readonly deployments: DeploymentLoaders;
  readonly llm: LlmLoaders;
  readonly apiKey: ApiKeyLoaders;
  readonly audit: AuditLoaders;
  readonly billing: BillingLoaders;

  constructor(scope: TenantScope) {
    this.organization = new OrganizationLoaders(scope);
    this.workspace = new WorkspaceLoaders(scope);
    this.environment = new EnvironmentLoaders(scope);
    this.component = new ComponentLoaders(scope);
    this.connector = new ConnectorLoaders(scope);
    this.member = new MemberLoaders(scope);
    this.deployments = new DeploymentLoaders(scope);
    this.llm = new LlmLoaders(scope);
    this.apiKey = new ApiKeyLoaders(scope);
    this.audit = new AuditLoaders(scope);
    this.billing = new BillingLoaders(scope);
  }
}
