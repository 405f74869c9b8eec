import { CreateDateColumn, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Field, ID, ObjectType } from 'type-graphql';

/**
 * The columns every tenant row has: `(org_id, id)` as primary key (org_id first: RLS, Citus) and
 * timestamps. `orgId` is deliberately not a GraphQL field: the caller's organization is implied.
 */
@ObjectType() // a base class: type-graphql 2 emits only types reachable from the schema, so it never appears
export abstract class TenantEntity {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When the object was created.' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When the object last changed.' })
  updatedAt: Date;
}
