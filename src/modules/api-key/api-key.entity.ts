import { Node } from '../../graphql/node';
import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from '../../graphql/pagination';
import { RequiresScopes } from '../../auth/decorators';

export enum ApiKeyStatus {
  ACTIVE = 'active',
  EXPIRED = 'expired',
  REVOKED = 'revoked',
}
registerEnumType(ApiKeyStatus, {
  name: 'ApiKeyStatus',
  description: 'Whether an API key can still be exchanged for tokens.',
  valuesConfig: {
    ACTIVE: { description: 'Usable: not revoked and not past its expiry.' },
    EXPIRED: { description: 'Past its expiresAt (or the end of its rotation grace period); refused at exchange.' },
    REVOKED: { description: 'Revoked by an administrator; refused at exchange.' },
  },
});

/**
 * An API key as it can be seen after creation: never its value (the secret's hash is not even mapped
 * here, and the serving role may not SELECT that column).
 */
@Entity({ name: 'api_keys' })
@ObjectType({ implements: Node, description: 'A key for programmatic access. Its value is shown once, at creation.' })
@RequiresScopes('api_keys:manage')
export class ApiKey {
  @PrimaryColumn('uuid', { name: 'org_id' })
  orgId: string;

  @PrimaryColumn('uuid')
  @Field(() => ID, {
    description: "Global id of the key (Node); the key's value is a different thing, shown only once.",
  })
  id: string;

  @Column('text', { name: 'key_id' })
  keyId: string;

  @Field(() => String, {
    description: 'The public start of the key, fl_<key id>: enough to recognise it, useless to use it.',
  })
  get prefix(): string {
    return `fl_${this.keyId}`;
  }

  @Column('text')
  @Field(() => String, { description: 'Display name, 1 to 100 characters.' })
  name: string;

  @Column('text', { nullable: true })
  @Field(() => String, { description: 'Free text up to 1000 characters, or null.', nullable: true })
  description: string | null;

  @Column('text', { array: true })
  @Field(() => [String], { description: 'Scopes the key grants (never more than its creator held).' })
  scopes: string[];

  @Column('text', { name: 'owner_user_id', nullable: true })
  @Field(() => String, {
    nullable: true,
    description: 'The member the key answers to: it works only while they are a member, within their role.',
  })
  ownerUserId: string | null;

  @Column('text', { name: 'created_by' })
  @Field(() => String, { description: 'Who created it: a user id, apikey:<id> or platform-admin.' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field(() => Date, { description: 'When the key was created.' })
  createdAt: Date;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  @Field(() => Date, { description: 'When the key stops working, or null for never.', nullable: true })
  expiresAt: Date | null;

  @Column('timestamptz', { name: 'last_used_at', nullable: true })
  @Field(() => Date, { nullable: true, description: 'Last token exchange (updated at most once a minute).' })
  lastUsedAt: Date | null;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  @Field(() => Date, { description: 'When the key was revoked, or null.', nullable: true })
  revokedAt: Date | null;

  @Column('text', { name: 'revoked_by', nullable: true })
  @Field(() => String, { description: 'Who revoked the key (token subject), or null.', nullable: true })
  revokedBy: string | null;

  @Column('uuid', { name: 'rotated_to', nullable: true })
  @Field(() => ID, { nullable: true, description: 'The key that replaced this one, if it was rotated.' })
  rotatedTo: string | null;

  @Field(() => ApiKeyStatus, { description: 'ACTIVE, EXPIRED or REVOKED, computed at read time.' })
  get status(): ApiKeyStatus {
    if (this.revokedAt) return ApiKeyStatus.REVOKED;
    if (this.expiresAt && this.expiresAt.getTime() <= Date.now()) return ApiKeyStatus.EXPIRED;
    return ApiKeyStatus.ACTIVE;
  }
}

@ObjectType({ description: 'A new key. `key` is its value: store it now, it is never shown again.' })
@RequiresScopes('api_keys:manage')
export class CreatedApiKey {
  @Field(() => String, {
    description: "The key's value (fl_…): shown only in this response; exchange it at POST /auth/token.",
  })
  key: string;

  @Field(() => ApiKey, { description: "The key's metadata, as `apiKeys` lists it." })
  apiKey: ApiKey;
}

export const ApiKeyConnection = ConnectionType(ApiKey);

/** The columns the serving role may read (never secret_hash). */
export const API_KEY_COLUMNS =
  'org_id, id, key_id, name, description, scopes, owner_user_id, created_by, created_at, expires_at, last_used_at, revoked_at, revoked_by, rotated_to';
