import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { answeredByPostgres } from '../../src/db/pg-errors';

// A planned write's failed COMMIT is run again only when PostgreSQL itself refused it (src/graphql/known-documents.ts).
test('answeredByPostgres: an ErrorResponse yes; a broken socket, even with a five-capital errno, no', () => {
  const refused = new DatabaseError('refused at commit', 0, 'error');
  refused.code = '23514';
  expect(answeredByPostgres(new QueryFailedError('COMMIT', [], refused))).toBe(true);
  const socket = Object.assign(new Error('write EBADF'), { code: 'EBADF', errno: -9, syscall: 'write' });
  expect(answeredByPostgres(new QueryFailedError('COMMIT', [], socket))).toBe(false);
  expect(answeredByPostgres(new Error('Connection terminated unexpectedly'))).toBe(false);
  expect(answeredByPostgres(null)).toBe(false);
});
