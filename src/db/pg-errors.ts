import { DatabaseError } from 'pg';

/** The PostgreSQL error codes services translate into client errors, and the ones that mean an outage. */
export const PgError = {
  UNIQUE_VIOLATION: '23505',
  FOREIGN_KEY_VIOLATION: '23503',
  CHECK_VIOLATION: '23514',
  /** statement_timeout (or a cancel request). */
  QUERY_CANCELED: '57014',
  ADMIN_SHUTDOWN: '57P01',
  CRASH_SHUTDOWN: '57P02',
  /** The server is starting up, shutting down or in recovery. */
  CANNOT_CONNECT_NOW: '57P03',
  DATABASE_DROPPED: '57P04',
  TOO_MANY_CONNECTIONS: '53300',
  IDLE_IN_TRANSACTION_TIMEOUT: '25P03',
} as const;

/** PostgreSQL error code of a TypeORM QueryFailedError (or undefined). */
export function pgErrorCode(error: unknown): string | undefined {
  const driverError = (error as { driverError?: { code?: string } })?.driverError;
  return driverError?.code;
}

export function pgConstraint(error: unknown): string | undefined {
  return (error as { driverError?: { constraint?: string } })?.driverError?.constraint;
}

/**
 * Whether PostgreSQL itself answered the failed statement (an ErrorResponse: pg's DatabaseError, under TypeORM's
 * QueryFailedError), as opposed to the connection failing under it. A COMMIT PostgreSQL refused rolled the
 * transaction back; one that failed otherwise may or may not have committed. Not the shape of `code`: a socket
 * error's errno (`EBADF`) is five capitals too.
 */
export function answeredByPostgres(error: unknown): boolean {
  return (error as { driverError?: unknown } | null)?.driverError instanceof DatabaseError;
}
