import { registerDecorator, type ValidationOptions } from 'class-validator';
import { badInput } from './errors';
import { isUuid } from '../db/tenant-scope';

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

/** Ids are UUIDs; anything else is a client mistake, reported as such (not as a database error). */
export function checkId(id: string, field = 'id'): string {
  if (!isUuid(id)) throw badInput([{ field, message: `${field} must be an id returned by this API` }]);
  return id.toLowerCase();
}
