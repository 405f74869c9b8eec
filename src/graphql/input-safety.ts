import {
  GraphQLID,
  GraphQLString,
  defaultFieldResolver,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isScalarType,
  type GraphQLArgumentConfig,
  type GraphQLFieldConfig,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { badInput, type FieldError } from './errors';

/**
 * Hostile-input guard: the one check every argument of every field passes before its resolver runs, for
 * values sent as variables and as literals alike (it sees the arguments after graphql-js coerced them).
 *
 * PostgreSQL cannot store some strings JavaScript can hold: a NUL character (U+0000) in text (or `\u0000`
 * in jsonb), and an unpaired UTF-16 surrogate (`"\uD800"`, legal in a JSON string, not Unicode; jsonb
 * refuses it, text silently gets U+FFFD). Such a value is the client's mistake, so it is refused here
 * as BAD_USER_INPUT naming the field, instead of reaching SQL and coming back as an internal error. Like
 * Hasura and PostGraphile, we refuse rather than strip: silently changing data is worse than an error.
 *
 * Also bounded here, because no class-validator rule sees plain scalar arguments (`userId: ID`, `id: ID`):
 * ids are at most MAX_ID_LENGTH characters (every id we issue is a UUID; user ids are token subjects,
 * bounded the same way in auth/tokens.ts), and JSON values nest at most MAX_JSON_DEPTH levels (a
 * deeper value would only exhaust stacks further down: JSON.stringify in validators, jsonb's parser).
 */
export const MAX_ID_LENGTH = 200;
export const MAX_JSON_DEPTH = 32;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored as text (null: it can). Also used for token claims and cursors. */
export function unsafeTextReason(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL characters (U+0000)';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode text (it contains an unpaired UTF-16 surrogate)';
  return null;
}

export function isSafeText(value: string): boolean {
  return unsafeTextReason(value) === null;
}

const join = (prefix: string, name: string | number) => (prefix ? `${prefix}.${name}` : String(name));

/** Strings and keys of a JSON value (a JSONObject argument), walked to MAX_JSON_DEPTH. */
function checkJson(value: unknown, field: string, depth: number, errors: FieldError[]): void {
  if (typeof value === 'string') {
    const reason = unsafeTextReason(value);
    if (reason) errors.push({ field, message: `${field}: every string in it ${reason}` });
    return;
  }
  if (value === null || typeof value !== 'object' || value instanceof Date) return;
  if (depth > MAX_JSON_DEPTH) {
    errors.push({ field, message: `${field} must not nest deeper than ${MAX_JSON_DEPTH} levels` });
    return;
  }
  const entries: Array<[string | null, unknown]> = Array.isArray(value)
    ? value.map((v) => [null, v])
    : Object.entries(value);
  for (const [key, inner] of entries) {
    if (key !== null) {
      const reason = unsafeTextReason(key);
      if (reason) errors.push({ field, message: `${field}: every key in it ${reason}` });
    }
    checkJson(inner, field, depth + 1, errors);
    if (errors.length >= 20) return; // enough to tell the client; stop walking a huge value
  }
}

/** Walks a coerced argument value along its input type. `field` is the name the client sees. */
function checkValue(type: GraphQLInputType, value: unknown, field: string, depth: number, errors: FieldError[]): void {
  if (value === null || value === undefined) return;
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    if (!Array.isArray(value)) return checkValue(nullable.ofType, value, field, depth, errors);
    value.forEach((item, index) => checkValue(nullable.ofType, item, join(field, index), depth + 1, errors));
    return;
  }
  if (isInputObjectType(nullable)) {
    const fields = nullable.getFields();
    for (const [name, inner] of Object.entries(value as Record<string, unknown>)) {
      if (fields[name]) checkValue(fields[name].type, inner, join(field, name), depth + 1, errors);
    }
    return;
  }
  if (isEnumType(nullable)) return;
  const textual = isScalarType(nullable) && (nullable.name === GraphQLString.name || nullable.name === GraphQLID.name);
  if (textual) {
    if (typeof value !== 'string') return;
    const reason = unsafeTextReason(value);
    if (reason) errors.push({ field, message: `${field} ${reason}` });
    else if (nullable.name === GraphQLID.name && value.length > MAX_ID_LENGTH)
      errors.push({ field, message: `${field} must be an id returned by this API` });
    return;
  }
  // Any other scalar (JSONObject, dates, numbers): its strings and keys, wherever they are.
  checkJson(value, field, depth, errors);
}

/**
 * Problems of a field's arguments. Naming follows class-validator's (graphql/validation.ts): a scalar
 * argument is named as such (`userId`), fields of an input-object argument without the argument's name
 * (`name`, `routes.0.task`), so every BAD_USER_INPUT names fields the same way.
 */
export function argumentProblems(
  args: Record<string, GraphQLArgumentConfig>,
  values: Record<string, unknown>,
): FieldError[] {
  const errors: FieldError[] = [];
  for (const [name, config] of Object.entries(args)) {
    const value = values[name];
    checkValue(config.type, value, isInputObjectType(getNullableType(config.type)) ? '' : name, 0, errors);
  }
  return errors;
}

/** Wraps every field that takes arguments with the check above (inside the auth guard, before audit). */
export function guardInputs(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig: GraphQLFieldConfig<unknown, unknown>) => {
      const argConfigs = fieldConfig.args ?? {};
      if (Object.keys(argConfigs).length === 0) return fieldConfig;
      const resolve = fieldConfig.resolve ?? defaultFieldResolver;
      return {
        ...fieldConfig,
        resolve(source, args, context, info) {
          const problems = argumentProblems(argConfigs, args);
          if (problems.length) throw badInput(problems);
          return resolve(source, args, context, info);
        },
      };
    },
  });
}
