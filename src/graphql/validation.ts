import {
  registerDecorator,
  validate,
  validateSync,
  getMetadataStorage,
  type ValidatorOptions,
  type ValidationOptions,
} from 'class-validator';
import { badInput, flatten, type FieldError } from './errors';

/** Slugs: lowercase letters, digits and inner hyphens, 1–63 characters (DNS-label rules). */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const SLUG_MESSAGE = '$property must be 1-63 lowercase letters, digits or inner hyphens';
export const NOT_BLANK = /\S/;

/** A plain JSON object (not an array or scalar) whose JSON text is at most maxBytes. */
export function IsJsonObject(maxBytes: number, options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isJsonObject',
      target: target.constructor,
      propertyName,
      options: { message: `$property must be a JSON object of at most ${maxBytes} bytes`, ...options },
      validator: {
        validate(value: unknown) {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
          return Buffer.byteLength(JSON.stringify(value)) <= maxBytes;
        },
      },
    });
}

export { checkId } from '../errors';

/**
 * Rules that need more than one field or list element (e.g. unique route names) implement this; their
 * errors are reported together with class-validator's, so a client sees every bad field at once.
 */
export interface CrossFieldValidation {
  crossFieldErrors(): FieldError[];
}

function hasCrossFieldErrors(value: object): value is CrossFieldValidation {
  return typeof (value as Partial<CrossFieldValidation>).crossFieldErrors === 'function';
}

/**
 * Validations of argument objects in this request, by class and value (see validateInput). Keyed by the
 * request's context object, so the memo lives exactly as long as the request: nothing is remembered across
 * requests (issue 11, point 3).
 */
const validatedInRequest = new WeakMap<object, Map<unknown, Map<string, Promise<void>>>>();

/**
 * The memo key of an argument object whose own values are all scalars (PageArgs and the like), or null for
 * anything else (nested inputs, lists, cross-field rules), which is validated every time. class-validator's
 * result is a function of the class and these values alone.
 */
function scalarKey(value: object): string | null {
  if (Array.isArray(value) || hasCrossFieldErrors(value)) return null;
  const parts: unknown[] = [];
  for (const [name, field] of Object.entries(value)) {
    const type = typeof field;
    if (field !== null && type !== 'string' && type !== 'number' && type !== 'boolean' && type !== 'undefined')
      return null;
    parts.push(name, type, field ?? null);
  }
  return JSON.stringify(parts);
}

/**
 * type-graphql's validateFn: class-validator on every input object (missing properties checked too;
 * optional ones say @IsOptional), plus cross-field rules, as one BAD_USER_INPUT naming every bad field.
 * An argument object of scalars equal to one already validated in this request shares that validation
 * (W1 pages 40 connections with the same `first: 100` in one tick, and validating each was ~3 % of its
 * CPU); when that one failed, this one is validated on its own, so every field reports its own error.
 */
export async function validateInput(
  argValue: unknown,
  _argType?: unknown,
  resolverData?: { context?: unknown },
): Promise<void> {
  if (argValue === null || typeof argValue !== 'object') return;
  const context = resolverData?.context;
  const key = context !== null && typeof context === 'object' ? scalarKey(argValue) : null;
  if (key === null) return validateNow(argValue);
  let byClass = validatedInRequest.get(context as object);
  if (!byClass) validatedInRequest.set(context as object, (byClass = new Map()));
  let memo = byClass.get(argValue.constructor);
  if (!memo) byClass.set(argValue.constructor, (memo = new Map()));
  const earlier = memo.get(key);
  if (earlier) {
    const passed = await earlier.then(
      () => true,
      () => false,
    );
    if (passed) return;
    return validateNow(argValue);
  }
  const validation = validateNow(argValue);
  memo.set(key, validation);
  return validation;
}

/** class-validator's options for every input (validateInput, inputPassesSync). */
const VALIDATOR_OPTIONS: ValidatorOptions = { skipMissingProperties: false, forbidUnknownValues: false };

async function validateNow(argValue: object): Promise<void> {
  const fields: FieldError[] = [];
  for (const value of Array.isArray(argValue) ? argValue : [argValue]) {
    if (value === null || typeof value !== 'object') continue;
    fields.push(...flatten(await validate(value, VALIDATOR_OPTIONS)));
    if (hasCrossFieldErrors(value)) fields.push(...value.crossFieldErrors());
  }
  if (fields.length) throw badInput(fields);
}

/**
 * Whether one input object passes what validateInput checks (class-validator with the same options, and the
 * cross-field rules), synchronously: for the planned writes (src/graphql/sql-plan), which take only inputs
 * that pass and leave every other to the resolver to refuse. Our rules are synchronous; an async one makes
 * validateSync report nothing for it, so a class with one is refused here (never passed unchecked).
 */
export function inputPassesSync(value: object): boolean {
  if (hasAsyncRules(value.constructor)) return false;
  if (hasCrossFieldErrors(value) && value.crossFieldErrors().length > 0) return false;
  return validateSync(value, VALIDATOR_OPTIONS).length === 0;
}

function hasAsyncRules(target: object['constructor']): boolean {
  let known = ASYNC_RULES.get(target);
  if (known === undefined) {
    const storage = getMetadataStorage();
    known = storage
      .getTargetValidationMetadatas(target, '', true, false)
      .some((rule) => storage.getTargetValidatorConstraints(rule.constraintCls).some((constraint) => constraint.async));
    ASYNC_RULES.set(target, known);
  }
  return known;
}
const ASYNC_RULES = new WeakMap<object['constructor'], boolean>();
