import { Node } from '../../graphql/node';
import { Column, Entity } from 'typeorm';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { JSONObject } from '../../graphql/scalars';
import { TenantEntity } from '../../db/tenant-entity';
import { ConnectionType } from '../../graphql/pagination';
import { RequiresScopes } from '../../auth/decorators';

export enum ConnectorKind {
  DATABASE = 'database',
  API = 'api',
}
registerEnumType(ConnectorKind, {
  name: 'ConnectorKind',
  description: 'What a connector connects a workspace to.',
  valuesConfig: {
    DATABASE: { description: 'A database connection (host, port, database in config; the password in secret).' },
    API: { description: 'An API integration (base URL and options in config; the token in secret).' },
  },
});

@Entity({ name: 'connectors' })
@ObjectType({
  implements: Node,
  description:
    'A connection a workspace uses: non-secret settings in config, the credential sealed in secret (write-only).',
})
@RequiresScopes('workspaces:read')
export class Connector extends TenantEntity {
  @Column('uuid', { name: 'workspace_id' })
  @Field(() => ID, { description: 'Global id of the workspace the connector belongs to.' })
  workspaceId: string;

  @Column('text')
  @Field(() => ConnectorKind, { description: 'What the connector connects to; fixed at creation.' })
  kind: ConnectorKind;

  @Column('text')
  @Field(() => String, { description: 'Unique within its workspace.' })
  name: string;

  @Column('jsonb')
  @Field(() => JSONObject, { description: 'Non-secret settings (host, port, database, baseUrl, …).' })
  config: Record<string, unknown>;

  /** Sealed (src/secrets/keyring.ts); never a GraphQL field — reads see Connector.secret, a SecretStatus. */
  @Column('text', { name: 'secret_sealed', nullable: true })
  secretSealed: string | null;

  @Column('timestamptz', { name: 'secret_updated_at', nullable: true })
  secretUpdatedAt: Date | null;
}

export const ConnectorConnection = ConnectionType(Connector);
