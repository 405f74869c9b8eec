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
  // Each module's loaders are made on first use: most requests touch two or three of the eleven, and the
  // point read (W2) none beyond the caller row (bench/README.md "Known-document path").
  private made: Partial<Record<keyof LoaderTypes, unknown>> = {};

  constructor(private readonly scope: TenantScope) {}

  private of<K extends keyof LoaderTypes>(key: K): InstanceType<LoaderTypes[K]> {
    return (this.made[key] ??= new LOADERS[key](this.scope)) as InstanceType<LoaderTypes[K]>;
  }

  get organization() {
    return this.of('organization');
  }
  get workspace() {
    return this.of('workspace');
  }
  get environment() {
    return this.of('environment');
  }
  get component() {
    return this.of('component');
  }
  get connector() {
    return this.of('connector');
  }
  get member() {
    return this.of('member');
  }
  get deployments() {
    return this.of('deployments');
  }
  get llm() {
    return this.of('llm');
  }
  get apiKey() {
    return this.of('apiKey');
  }
  get audit() {
    return this.of('audit');
  }
  get billing() {
    return this.of('billing');
  }
}

const LOADERS = {
  organization: OrganizationLoaders,
  workspace: WorkspaceLoaders,
  environment: EnvironmentLoaders,
  component: ComponentLoaders,
  connector: ConnectorLoaders,
  member: MemberLoaders,
  deployments: DeploymentLoaders,
  llm: LlmLoaders,
  apiKey: ApiKeyLoaders,
  audit: AuditLoaders,
  billing: BillingLoaders,
};
type LoaderTypes = typeof LOADERS;
