import { Field, ID, InputType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { IsEnum, IsOptional, IsUUID, Length, Matches, MaxLength, ValidateIf, registerDecorator } from 'class-validator';
import { IsJsonObject, NOT_BLANK } from '../../graphql/validation';
import { ConnectorKind } from './connector.entity';

export const MAX_CONFIG_BYTES = 16 * 1024;
export const MAX_SECRET_LENGTH = 8192;

/** Key names that hold credentials; compared lowercased with separators removed (api_key → apikey). */
const SECRET_WORDS = /(password|passwd|passphrase|secret|token|credential|apikey|accesskey|privatekey|authorization|bearer|cookie|session)/;
const SECRET_NAMES = new Set(['pwd', 'pass', 'key', 'auth', 'sig', 'signature']);
/** A URL with a password in it (scheme://user:password@host). */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s@:]*:[^/\s@]+@/i;

function looksSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_WORDS.test(normalized) || SECRET_NAMES.has(normalized) || normalized.endsWith('key');
}

/**
 * The first place in a config object that looks like it holds a secret (a secret-like key name at any
 * depth, or a URL with a password), as a path such as `auth.password`; null when there is none.
 */
export function secretLookingPath(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return URL_WITH_PASSWORD.test(value) ? path || '(value)' : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = secretLookingPath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const here = path ? `${path}.${key}` : key;
      if (looksSecretKey(key)) return here;
      const found = secretLookingPath(inner, here);
      if (found) return found;
    }
  }
  return null;
}

/** Config holds settings only: refuse anything that looks like a credential, pointing at `secret`. */
function HasNoSecrets() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'hasNoSecrets',
      target: target.constructor,
      propertyName,
      options: {
        message: (args) =>
          `$property.${secretLookingPath(args.value)} looks like a secret: config is stored in clear; put credentials in \`secret\` (encrypted, write-only)`,
      },
      validator: { validate: (value: unknown) => secretLookingPath(value) === null },
    });
}

@InputType()
export class CreateConnectorInput {
  @Field(() => ID)
  @IsUUID('all', { message: 'workspaceId must be an id returned by this API' })
  workspaceId: string;

  @Field(() => ConnectorKind)
  @IsEnum(ConnectorKind)
  kind: ConnectorKind;

  @Field(() => String, { description: 'Unique within the workspace.' })
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name: string;

  @Field(() => GraphQLJSONObject, { nullable: true, description: `Non-secret settings, a JSON object of at most ${MAX_CONFIG_BYTES} bytes.` })
  @IsOptional()
  @IsJsonObject(MAX_CONFIG_BYTES)
  @HasNoSecrets()
  config?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'The credential (password, API token): encrypted at rest, never readable back.' })
  @IsOptional()
  @Length(1, MAX_SECRET_LENGTH, { message: `secret must be 1 to ${MAX_SECRET_LENGTH} characters` })
  secret?: string | null;
}

@InputType({ description: 'Omitted fields keep their value; null is refused (clearConnectorSecret removes the secret).' })
export class UpdateConnectorInput {
  @Field(() => String, { nullable: true })
  @ValidateIf((o: UpdateConnectorInput) => o.name !== undefined)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name?: string;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Replaces the whole config.' })
  @ValidateIf((o: UpdateConnectorInput) => o.config !== undefined)
  @IsJsonObject(MAX_CONFIG_BYTES)
  @HasNoSecrets()
  config?: Record<string, unknown>;

  @Field(() => String, { nullable: true, description: 'Replaces the secret.' })
  @ValidateIf((o: UpdateConnectorInput) => o.secret !== undefined)
  @Length(1, MAX_SECRET_LENGTH, { message: `secret must be 1 to ${MAX_SECRET_LENGTH} characters` })
  secret?: string;
}
