import 'reflect-metadata';
import { getMetadataStorage } from 'type-graphql';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import type { FieldError } from '../errors';
import { badRequest } from './problem';
import { validateInput } from '../graphql/validation';
import type { GraphQLError } from 'graphql';
import { getMetadataStorage as validatorMetadata } from 'class-validator';

/**
 * JSON Schemas and JSON (de)serialization for REST, derived from the classes GraphQL already uses, so the
 * two transports can never disagree:
 *
 * - request bodies: the GraphQL input classes. Their JSON Schema (OpenAPI) comes from their class-validator
 *   decorators (`class-validator-jsonschema`), refined by type-graphql's field metadata (type, nullability,
 *   default, description); a REST body is checked against the same type-graphql field types GraphQL's own
 *   input coercion enforces, then validated by the very `validateInput` GraphQL runs.
 * - responses: the type-graphql object types (entities), walked field by field (their `@Field`s, never
 *   their field resolvers), so a field added to an entity appears in GraphQL, REST and OpenAPI at once.
 *
 * REST JSON is snake_case (`primary_domain`, `support_tier`, `trace_mode`), as the platform documents it;
 * the mapping is mechanical (camelCase ↔ snake_case) and the only thing REST adds. Enum values are the
 * stored lower-case values (`sampled`), which is what class-validator's `@IsEnum` checks.
 */

export type JsonSchema = Record<string, unknown>;
type Class = abstract new (...args: never[]) => object;
/** A decorated class as the metadata storages key it. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type Target = Function;

export const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

interface FieldInfo {
  name: string;
  getType: () => unknown;
  nullable: boolean;
  array: boolean;
  defaultValue: unknown;
  description?: string;
}

/** type-graphql's @Field metadata of a class and its ancestors (never @FieldResolver fields). */
export function fieldsOf(target: Target): FieldInfo[] {
  const storage = getMetadataStorage();
  const chain: Target[] = [];
  for (let t: Target | null = target; t && t !== Function.prototype; t = Object.getPrototypeOf(t)) chain.unshift(t);
  const seen = new Map<string, FieldInfo>();
  for (const cls of chain) {
    for (const field of storage.fields) {
      if (field.target !== cls) continue;
      // rest-more: a @Field on a getter (ApiKey.status, ApiKey.prefix) is an *internal* field resolver: a
      // value of the entity, kept; only @FieldResolver methods of resolver classes (external) are left out.
      if (
        storage.fieldResolvers.some(
          (r) => r.kind === 'external' && r.getObjectType?.() === cls && r.methodName === field.name,
        )
      )
        continue;
      seen.set(field.name, {
        name: field.name,
        getType: field.getType as () => unknown,
        nullable: Boolean(field.typeOptions.nullable),
        array: Boolean(field.typeOptions.array),
        defaultValue: field.typeOptions.defaultValue,
        description: field.description,
      });
    }
  }
  return [...seen.values()];
}

function enumOf(type: unknown): { name: string; values: string[]; description?: string } | undefined {
  const meta = getMetadataStorage().enums.find((e) => e.enumObj === type);
  if (!meta) return undefined;
  return {
    name: meta.name,
    values: Object.values(meta.enumObj as Record<string, string>),
    description: meta.description,
  };
}

function scalarName(type: unknown): string | undefined {
  if (type === String) return 'String';
  if (type === Boolean) return 'Boolean';
  if (type === Number) return 'Float';
  if (type === Date) return 'DateTime';
  if (type instanceof Object && 'name' in type && typeof (type as { name: unknown }).name === 'string') {
    const name = (type as { name: string }).name;
    if (
      ['String', 'Boolean', 'Float', 'Int', 'ID', 'DateTimeISO', 'DateTime', 'JSONObject', 'JSON'].includes(name) ||
      ['SafeInt', 'LocalDate'].includes(name) // rest-more: billing's scalars
    )
      return name;
  }
  return undefined;
}

const idDescription = (name: string) =>
  name === 'id'
    ? 'The id (a UUID).'
    : `The id (a UUID) of the ${snake(name)
        .replace(/_ids?$/, '')
        .replace(/_/g, ' ')}.`;

/** Components: named schemas referenced by `$ref` (enums, nested objects). Filled as schemas are built. */
export class SchemaRegistry {
  readonly components: Record<string, JsonSchema> = {};

  ref(name: string): JsonSchema {
    return { $ref: `#/components/schemas/${name}` };
  }

  /** The JSON Schema of one value of a type-graphql field type (REST ids are raw UUIDs). */
  typeSchema(type: unknown, asInput = false): JsonSchema {
    const e = enumOf(type);
    if (e) {
      this.components[e.name] ??= {
        type: 'string',
        enum: e.values,
        ...(e.description ? { description: e.description } : {}),
      };
      return this.ref(e.name);
    }
    switch (scalarName(type)) {
      case 'String':
        return { type: 'string' };
      case 'ID':
        return { type: 'string', format: 'uuid' };
      case 'Boolean':
        return { type: 'boolean' };
      case 'Int':
      case 'SafeInt': // rest-more
        return { type: 'integer' };
      case 'LocalDate': // rest-more
        return { type: 'string', format: 'date' };
      case 'Float':
        return { type: 'number' };
      case 'DateTime':
      case 'DateTimeISO':
        return { type: 'string', format: 'date-time' };
      case 'JSONObject':
      case 'JSON':
        return { type: 'object' };
    }
    if (typeof type === 'function') return asInput ? this.input(type as Class) : this.object(type as Class);
    return {};
  }

  private fieldSchema(field: FieldInfo, nullable: boolean): JsonSchema {
    // rest-more: user ids are ID in GraphQL but the `sub` of a token, not a UUID.
    const userId = field.name === 'userId';
    let schema = userId ? { type: 'string' } : this.typeSchema(field.getType());
    if (field.array) schema = { type: 'array', items: schema };
    if (nullable) schema = { anyOf: [schema, { type: 'null' }] };
    // GraphQL's descriptions of ids speak of global ids; REST ids are the UUIDs themselves.
    const description = scalarName(field.getType()) === 'ID' && !userId ? idDescription(field.name) : field.description;
    return description ? { ...schema, description } : schema;
  }

  /** A response object: every @Field of the type-graphql object type, snake_case, all present. */
  object(target: Class, name = target.name): JsonSchema {
    if (!this.components[name]) {
      this.components[name] = {}; // reserve first: recursive types
      const fields = fieldsOf(target);
      const properties: Record<string, JsonSchema> = {};
      for (const field of fields) properties[snake(field.name)] = this.fieldSchema(field, field.nullable);
      const meta = getMetadataStorage().objectTypes.find((o) => o.target === target);
      this.components[name] = {
        type: 'object',
        ...(meta?.description ? { description: meta.description } : {}),
        properties,
        required: Object.keys(properties),
      };
    }
    return this.ref(name);
  }

  /**
   * A request body: class-validator's rules (class-validator-jsonschema) with type-graphql's types,
   * nullability (null allowed where class-validator lets it through: `@IsOptional`) and defaults
   * (a field with a default is not required). `partial`: a PATCH body, every field optional.
   */
  input(target: Class, options: { partial?: boolean; name?: string; omit?: string[] } = {}): JsonSchema {
    const name = options.name ?? target.name;
    if (!this.components[name]) {
      const rules = targetConstructorToSchema(target as unknown as Target, {
        refPointerPrefix: '#/components/schemas/',
      }) as { properties?: Record<string, JsonSchema>; required?: string[]; description?: string };
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const field of fieldsOf(target)) {
        if (options.omit?.includes(field.name)) continue;
        const rule = { ...(rules.properties?.[field.name] ?? {}) };
        // class-validator-jsonschema's `type` for an enum or a number is replaced by type-graphql's (Int).
        const typeSchema = this.typeSchema(field.getType(), true);
        const isRef = '$ref' in typeSchema;
        delete rule.type;
        delete rule.items;
        // class-validator-jsonschema's `$ref` comes from the design type (`Object` for a JSON object):
        // type-graphql's type decides instead (nested inputs get their own `$ref` from typeSchema).
        delete rule.$ref;
        if (isRef) delete rule.enum;
        const one: JsonSchema = isRef ? typeSchema : { ...rule, ...typeSchema };
        let schema: JsonSchema = one;
        if (field.array) {
          const { minItems, maxItems } = rule;
          schema = {
            type: 'array',
            items: one,
            ...(minItems !== undefined ? { minItems } : {}),
            ...(maxItems !== undefined ? { maxItems } : {}),
          };
        }
        if (nullAllowed(target, field.name)) schema = { anyOf: [schema, { type: 'null' }] };
        if (field.description) schema = { ...schema, description: field.description };
        if (field.defaultValue !== undefined) schema = { ...schema, default: field.defaultValue };
        properties[snake(field.name)] = schema;
        if (!options.partial && rules.required?.includes(field.name) && field.defaultValue === undefined)
          required.push(snake(field.name));
      }
      const meta = getMetadataStorage().inputTypes.find((o) => o.target === target);
      this.components[name] = {
        type: 'object',
        ...(meta?.description ? { description: meta.description } : {}),
        properties,
        ...(required.length ? { required } : {}),
        additionalProperties: false,
      };
    }
    return this.ref(name);
  }
}

/** `@IsOptional()` lets null through class-validator (and the services treat null as "clear"). */
function nullAllowed(target: Target, property: string): boolean {
  // class-validator's own metadata: IsOptional registers a CONDITIONAL_VALIDATION named isOptional.
  const metas = validatorMetadata().getTargetValidationMetadatas(target, '', true, false);
  return metas.some(
    (m) => m.propertyName === property && m.type === 'conditionalValidation' && m.name === 'isOptional',
  );
}

/** Entity (or plain object of a type-graphql object type) → snake_case JSON, by the type's @Fields. */
export function toJson(target: Class, value: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fieldsOf(target)) {
    const v = (value as Record<string, unknown>)[field.name];
    out[snake(field.name)] = serialize(field.getType(), v);
  }
  return out;
}

function serialize(type: unknown, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => serialize(type, v));
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && typeof type === 'function' && !enumOf(type) && !scalarName(type))
    return toJson(type as Class, value);
  return value;
}

/**
 * A REST body → an instance of the GraphQL input class, checked as GraphQL would: unknown fields refused
 * (GraphQL refuses unknown input fields too), each value of its type-graphql type (GraphQL's input
 * coercion), defaults applied, then the same `validateInput` (class-validator + cross-field rules). Every
 * bad field is reported at once, by its snake_case name. Throws BadInputError.
 */
export async function parseInput<T extends object>(
  target: new () => T,
  body: unknown,
  options: { partial?: boolean; prefix?: string; set?: Record<string, unknown> } = {},
): Promise<T> {
  const errors: FieldError[] = [];
  const set = options.set ?? {};
  const instance = coerceObject(
    target,
    body,
    options.prefix ?? '',
    errors,
    options.partial ?? false,
    new Set(Object.keys(set)),
  );
  Object.assign(instance, set);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest(errors);
  try {
    await validateInput(instance);
  } catch (error) {
    const fields = ((error as GraphQLError).extensions?.fields as FieldError[] | undefined) ?? [];
    // A field that already failed its type check (above) is reported once, with that message: class-validator
    // would only repeat it in other words (e.g. an unknown enum value).
    const typeErrors = new Set(errors.map((e) => e.field));
    for (const f of fields) {
      const field = snakePath(options.prefix ?? '', f.field);
      if (!typeErrors.has(field)) errors.push({ field, message: f.message });
    }
  }
  // Already snake_case (and unknown fields as the client spelt them): a problem as is, not re-mapped.
  if (errors.length) throw badRequest(errors);
  return instance as T;
}

const snakePath = (prefix: string, path: string) => (prefix ? `${prefix}.` : '') + path.split('.').map(snake).join('.');

function coerceObject(
  target: Target,
  body: unknown,
  path: string,
  errors: FieldError[],
  partial: boolean,
  omit: ReadonlySet<string> = new Set(),
): object {
  const instance = Object.create((target as { prototype: object }).prototype) as Record<string, unknown>;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    errors.push({ field: path || 'body', message: `${path || 'the body'} must be a JSON object` });
    return instance;
  }
  const fields = new Map(
    fieldsOf(target)
      .filter((f) => !omit.has(f.name))
      .map((f) => [snake(f.name), f]),
  );
  const at = (key: string) => (path ? `${path}.${key}` : key);
  for (const key of Object.keys(body)) {
    if (!fields.has(key)) errors.push({ field: at(key), message: `${at(key)} is not a known field` });
  }
  for (const [key, field] of fields) {
    const sent = (body as Record<string, unknown>)[key];
    if (sent === undefined) {
      if (field.defaultValue !== undefined && !partial) instance[field.name] = field.defaultValue;
      continue;
    }
    instance[field.name] = coerceValue(field, sent, at(key), errors);
  }
  return instance;
}

function coerceValue(field: FieldInfo, value: unknown, path: string, errors: FieldError[]): unknown {
  if (value === null) return null; // nullability is class-validator's call (@IsOptional), as in GraphQL
  if (field.array) {
    if (!Array.isArray(value)) {
      errors.push({ field: path, message: `${path} must be an array` });
      return value;
    }
    return value.map((v, i) => coerceOne(field.getType(), v, `${path}.${i}`, errors));
  }
  return coerceOne(field.getType(), value, path, errors);
}

function coerceOne(type: unknown, value: unknown, path: string, errors: FieldError[]): unknown {
  const wrong = (what: string) => {
    errors.push({ field: path, message: `${path} must be ${what}` });
    return value;
  };
  const e = enumOf(type);
  if (e) return typeof value === 'string' && e.values.includes(value) ? value : wrong(`one of ${e.values.join(', ')}`);
  switch (scalarName(type)) {
    case 'String':
    case 'ID':
      return typeof value === 'string' ? value : wrong('a string');
    case 'Boolean':
      return typeof value === 'boolean' ? value : wrong('a boolean');
    case 'Int':
      return Number.isInteger(value) && Math.abs(value as number) <= 2147483647 ? value : wrong('a 32-bit integer');
    case 'Float':
      return typeof value === 'number' && Number.isFinite(value) ? value : wrong('a number');
    case 'DateTime':
    case 'DateTimeISO':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value))
        ? new Date(value)
        : wrong('an ISO date-time');
    case 'JSONObject':
    case 'JSON':
      return value;
  }
  if (typeof type === 'function') return coerceObject(type, value, path, errors, false);
  return value;
}
