import type { GraphQLResponse } from './gateway';

/** Asserts the response failed with exactly one error of `code` (and, for BAD_USER_INPUT, these fields). */
export function expectError(response: GraphQLResponse, code: string, fields?: string[]): void {
  const errors = response.body.errors ?? [];
  expect(errors.map((e) => e.extensions.code)).toEqual([code]);
  expect(typeof errors[0].extensions.requestId).toBe('string');
  if (fields) {
    const named = [...new Set((errors[0].extensions.fields ?? []).map((f: { field: string }) => f.field))].sort();
    expect(named).toEqual([...fields].sort());
    for (const field of fields) expect(errors[0].message).toContain(field);
  }
}
