import { Field, ObjectType } from 'type-graphql';
import type { Logger } from 'pino';
import { Keyring, SecretUnreadableError, type SecretBinding } from './keyring';
import { DeploymentHost } from '../modules/environment/environment.entity';
import { RequiresScopes } from '../auth/decorators';

/**
 * What a read shows of a write-only secret: whether one is set, when it changed and a short keyed
 * fingerprint (to tell two values apart) — never the value. A sealed value that does not open here
 * (copied from another row or organization, tampered with, or under a key no longer configured) is
 * reported as set but unreadable, without a fingerprint; the log says which row, never any content.
 */
@ObjectType({ description: 'A write-only secret as reads see it: never the value.' })
@RequiresScopes('workspaces:read')
export class SecretStatus {
  @Field(() => Boolean, { description: 'Whether a secret is stored (its value is never returned).' })
  isSet: boolean;

  @Field(() => DeploymentHost, {
    nullable: true,
    description:
      'For cloud credentials: the deployment host they are for (CLOUDRUN or AWS); null for connector secrets and when none is set.',
  })
  provider: string | null;

  @Field(() => Date, { nullable: true, description: 'When the secret was last set; null when none is set.' })
  updatedAt: Date | null;

  @Field(() => String, {
    nullable: true,
    description:
      'First 12 hex characters of a keyed HMAC of the value: equal values show equal fingerprints until the encryption key rotates.',
  })
  fingerprint: string | null;

  @Field(() => Boolean, {
    description:
      'False when a secret is set but cannot be decrypted here (moved from another row, tampered with, or its key was removed): set it again.',
  })
  readable: boolean;
}

export function secretStatus(
  keyring: Keyring,
  log: Logger,
  sealed: string | null | undefined,
  binding: SecretBinding,
  meta: { provider?: string | null; updatedAt: Date | null },
): SecretStatus {
  const status = new SecretStatus();
  status.provider = meta.provider ?? null;
  status.updatedAt = meta.updatedAt;
  status.isSet = Boolean(sealed);
  status.fingerprint = null;
  status.readable = true;
  if (!sealed) return status;
  try {
    status.fingerprint = keyring.fingerprint(keyring.open(sealed, binding), binding);
  } catch (error) {
    if (!(error instanceof SecretUnreadableError)) throw error;
    status.readable = false;
    log.warn(
      {
        table: binding.table,
        orgId: binding.orgId,
        rowId: binding.rowId,
        field: binding.field,
        reason: error.reason,
        keyVersion: error.keyVersion,
      },
      'sealed secret cannot be opened at its row',
    );
  }
  return status;
}
