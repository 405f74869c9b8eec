import { registerDecorator, validate, type ValidationOptions } from 'class-validator';
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
 * type-graphql's validateFn: class-validator on every input object (missing properties checked too;
 * optional ones say @IsOptional), plus cross-field rules, as one BAD_USER_INPUT naming every bad field.
 */
export async function validateInput(argValue: unknown): Promise<void> {
  if (argValue === null || typeof argValue !== 'object') return;
  const fields: FieldError[] = [];
  for (const value of Array.isArray(argValue) ? argValue : [argValue]) {
    if (value === null || typeof value !== 'object') continue;
    fields.push(...flatten(await validate(value, { skipMissingProperties: false, forbidUnknownValues: false })));
    if (hasCrossFieldErrors(value)) fields.push(...value.crossFieldErrors());
  }
  if (fields.length) throw badInput(fields);
}
