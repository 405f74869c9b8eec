import { Field, ID, InputType } from 'type-graphql';
import { JSONObject } from '../../graphql/scalars';
import { IsEnum, IsOptional, IsUUID, Length, Matches, MaxLength, ValidateIf, registerDecorator } from 'class-validator';
import { IsJsonObject, NOT_BLANK } from '../../graphql/validation';
import { ConnectorKind } from './connector.entity';

export const MAX_CONFIG_BYTES = 16 * 1024;
export const MAX_SECRET_LENGTH = 8192;

/** Key names that hold credentials; compared lowercased with separators removed (api_key → apikey). */
const SECRET_WORDS =
  /(password|passwd|passphrase|secret|token|credential|apikey|accesskey|privatekey|clientsecret|authorization|bearer|cookie|session)/;
const SECRET_NAMES = new Set([
  'pwd',
  'pass',
  'key',
  'auth',
  'sig',
  'signature',
  'secretkey',
  'signingkey',
  'sharedkey',
]);
/** A URL with a password in it (scheme://user:password@host). */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s@:]*:[^/\s@]+@/i;
/** Credentials inside a string: `password=…` (libpq DSNs, query strings), `Bearer …`/`Basic …`. */
const CREDENTIAL_IN_TEXT = /(?:^|[\s?&;,])([a-z_][a-z0-9_.-]*)\s*=\s*[^\s&;,]+/gi;
const AUTH_SCHEME = /^\s*(bearer|basic|token)\s+\S{8,}/i;
/** Objects that carry a header or parameter as a name/value pair: `{name: "Authorization", value: "…"}`. */
const PAIR_NAME_FIELDS = ['name', 'key', 'header', 'param'];

function looksSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_WORDS.test(normalized) || SECRET_NAMES.has(normalized);
}

function textHoldsCredential(text: string): boolean {
  if (URL_WITH_PASSWORD.test(text) || AUTH_SCHEME.test(text)) return true;
  for (const match of text.matchAll(CREDENTIAL_IN_TEXT)) {
    if (looksSecretKey(match[1])) return true;
  }
  return false;
}

/**
 * The first place in a config object that looks like it holds a secret, as a path such as
 * `auth.password`; null when there is none. Looks at key names at any depth (password, token, apiKey…),
 * name/value pairs whose name is one of those (headers lists), and strings carrying credentials: a URL
 * with a password, `password=`/`api_key=` in a DSN or query string, an `Authorization` value.
 */
export function secretLookingPath(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return textHoldsCredential(value) ? path || '(value)' : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = secretLookingPath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const field of PAIR_NAME_FIELDS) {
      const name = record[field];
      if (typeof name === 'string' && looksSecretKey(name) && Object.keys(record).some((k) => k !== field)) {
        return path ? `${path}.${field}` : field;
      }
    }
    for (const [key, inner] of Object.entries(record)) {
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

@InputType({ description: 'A new connector of a workspace; config holds non-secret settings, secret the credential.' })
export class CreateConnectorInput {
  @Field(() => ID, { description: 'Global id of the Workspace to create the connector in.' })
  @IsUUID('all', { message: 'workspaceId must be an id returned by this API' })
  workspaceId: string;

  @Field(() => ConnectorKind, { description: 'What the connector connects to; cannot be changed later.' })
  @IsEnum(ConnectorKind)
  kind: ConnectorKind;

  @Field(() => String, { description: 'Unique within the workspace.' })
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name: string;

  @Field(() => JSONObject, {
    nullable: true,
    description: `Non-secret settings, a JSON object of at most ${MAX_CONFIG_BYTES} bytes.`,
  })
  @IsOptional()
  @IsJsonObject(MAX_CONFIG_BYTES)
  @HasNoSecrets()
  config?: Record<string, unknown> | null;

  @Field(() => String, {
    nullable: true,
    description: 'The credential (password, API token): encrypted at rest, never readable back.',
  })
  @IsOptional()
  @Length(1, MAX_SECRET_LENGTH, { message: `secret must be 1 to ${MAX_SECRET_LENGTH} characters` })
  secret?: string | null;
}

@InputType({
  description: 'Omitted fields keep their value; null is refused (clearConnectorSecret removes the secret).',
})
export class UpdateConnectorInput {
  @Field(() => String, { description: 'New name, unique in the workspace; null is refused.', nullable: true })
  @ValidateIf((o: UpdateConnectorInput) => o.name !== undefined)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name?: string;

  @Field(() => JSONObject, { nullable: true, description: 'Replaces the whole config.' })
  @ValidateIf((o: UpdateConnectorInput) => o.config !== undefined)
  @IsJsonObject(MAX_CONFIG_BYTES)
  @HasNoSecrets()
  config?: Record<string, unknown>;

  @Field(() => String, {
    nullable: true,
    description:
      'A new credential, sealed and never returned; replaces the current one. Use clearConnectorSecret to remove it.',
  })
  @ValidateIf((o: UpdateConnectorInput) => o.secret !== undefined)
  @Length(1, MAX_SECRET_LENGTH, { message: `secret must be 1 to ${MAX_SECRET_LENGTH} characters` })
  secret?: string;
}
