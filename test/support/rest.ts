import { snapshot, type TestDatabase } from './database';
import type { RunningGateway } from './gateway';

/** A REST answer: status, headers, and the body as JSON (or text when it is not JSON; null when empty). */
export interface RestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RestOptions {
  token?: string;
  /** A JSON value to send (content-type application/json unless `contentType` says otherwise). */
  body?: unknown;
  /** Sent as is (malformed JSON, other media types). */
  rawBody?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Calls `/api/v1<path>` (or an absolute path starting with `/api/` or `/auth/`) on the gateway. */
export async function rest<T = any>(
  gw: RunningGateway,
  method: string,
  path: string,
  options: RestOptions = {},
): Promise<RestResponse<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const url = `${gw.url}${path.startsWith('/api/') || path.startsWith('/auth/') ? path : `/api/v1${path}`}`;
  const response = await fetch(url, { method: method.toUpperCase(), headers, body });
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** A problem document of `status` and `code` (and, for BAD_USER_INPUT, exactly these fields, in any order). */
export function expectProblem(response: RestResponse, status: number, code: string, fields?: string[]): void {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code, title: expect.any(String), detail: expect.any(String) });
  expect(response.body.request_id).toBe(response.headers.get('x-request-id'));
  if (fields)
    expect([...new Set(response.body.errors.map((e: { field: string }) => e.field))].sort()).toEqual(
      [...fields].sort(),
    );
}

/**
 * The REST twin of harness.ts's expectRefusedUnchanged: the request (a function, so the snapshot is taken
 * before it leaves) is refused with this problem, and the database is exactly as it was.
 */
export async function expectProblemUnchanged(
  request: () => Promise<RestResponse>,
  expected: { status: number; code: string; fields?: string[] },
  db: TestDatabase,
): Promise<RestResponse> {
  const before = await snapshot(db.admin);
  const response = await request();
  expectProblem(response, expected.status, expected.code, expected.fields);
  expect(await snapshot(db.admin)).toEqual(before);
  return response;
}

/** A problem body without its request id: what must be byte-identical between two refusals. */
export function withoutRequestId(response: RestResponse): string {
  return response.text.replace(/"request_id":"[^"]*"/, '"request_id":""');
}
