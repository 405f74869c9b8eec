import { Node } from '../../graphql/node';
import { Column, Entity } from 'typeorm';
import { TenantEntity } from '../../db/tenant-entity';
import { ConnectionType } from '../../graphql/pagination';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { JSONObject } from '../../graphql/scalars';
import { RequiresScopes } from '../../auth/decorators';

export enum EnvironmentTier {
  DEV = 'dev',
  STAGE = 'stage',
  PROD = 'prod',
}
export enum DeploymentHost {
  LOCALHOST = 'localhost',
  CLOUDRUN = 'cloudrun',
  AWS = 'aws',
}
registerEnumType(EnvironmentTier, {
  name: 'EnvironmentTier',
  description: 'The stage of the delivery pipeline an environment stands for.',
  valuesConfig: {
    DEV: { description: 'Development: for work in progress.' },
    STAGE: { description: 'Staging: a pre-production copy for verification.' },
    PROD: { description: 'Production: serves real traffic.' },
  },
});
registerEnumType(DeploymentHost, {
  name: 'DeploymentHost',
  description: 'Where an environment runs its components.',
  valuesConfig: {
    LOCALHOST: { description: "On the developer's own machine; takes no cloud credentials." },
    CLOUDRUN: { description: 'Google Cloud Run; needs `cloudrun` credentials.' },
    AWS: { description: 'Amazon Web Services; needs `aws` credentials.' },
  },
});

@Entity({ name: 'environments' })
@ObjectType({
  implements: Node,
  description: 'A deployment target inside a workspace (a stage of the release pipeline).',
})
@RequiresScopes('workspaces:read')
export class Environment extends TenantEntity {
  @Column('uuid', { name: 'workspace_id' })
  @Field(() => ID, { description: 'Global id of the workspace the environment belongs to.' })
  workspaceId: string;

  @Column('text')
  @Field(() => String, { description: 'Display name, 1 to 200 characters.' })
  name: string;

  @Column('text')
  @Field(() => String, { description: 'Unique within its workspace.' })
  slug: string;

  @Column('text')
  @Field(() => EnvironmentTier, { description: 'Pipeline stage: DEV, STAGE or PROD.' })
  tier: EnvironmentTier;

  @Column('text', { name: 'deployment_host' })
  @Field(() => DeploymentHost, { description: 'Where the environment runs; decides which cloud credentials it takes.' })
  deploymentHost: DeploymentHost;

  @Column('jsonb', { name: 'execution_backend' })
  @Field(() => JSONObject, { description: 'Compute backend configuration (free-form JSON object).' })
  executionBackend: Record<string, unknown>;

  // Cloud credentials: sealed (see src/secrets/keyring.ts), never GraphQL fields; reads go through
  // Environment.credentials, which shows a SecretStatus.
  @Column('text', { name: 'credentials_provider', nullable: true })
  credentialsProvider: DeploymentHost | null;

  @Column('text', { name: 'credentials_sealed', nullable: true })
  credentialsSealed: string | null;

  @Column('timestamptz', { name: 'credentials_updated_at', nullable: true })
  credentialsUpdatedAt: Date | null;
}

export const EnvironmentConnection = ConnectionType(Environment);
