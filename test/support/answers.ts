import type { RunningGateway } from './gateway';

/**
 * One GraphQL request over HTTP and its answer in a comparable form: for tests that send the same request to
 * two gateways (the planned one and GRAPHQL_SQL_PLAN=off) and expect the same answer.
 */
export interface Answer {
  status: number;
  /** The body with what legitimately differs between two gateways removed (request ids, statement count). */
  text: string;
  body: any;
  /** Every response header but those that differ per request or with the statement count. */
  headers: Record<string, string>;
  statements: number | undefined;
}

export interface Sent {
  method?: string;
  /** A JSON value (sent as JSON) or a raw string body. */
  body?: unknown;
  raw?: string;
  token?: string | null;
  headers?: Record<string, string>;
  /** GET: the query string. */
  search?: string;
  signal?: AbortSignal;
}

export const PER_REQUEST_HEADERS = new Set([
  'date',
  'x-request-id',
  'traceparent',
  'etag',
  'content-length',
  'connection',
  'keep-alive',
]);

export async function send(target: RunningGateway, sent: Sent): Promise<Answer> {
  const response = await fetch(`${target.url}/graphql${sent.search ?? ''}`, {
    method: sent.method ?? 'POST',
    headers: {
      ...(sent.method === 'GET' ? {} : { 'content-type': 'application/json' }),
      ...(sent.token ? { authorization: `Bearer ${sent.token}` } : {}),
      ...sent.headers,
    },
    body: sent.method === 'GET' ? undefined : (sent.raw ?? JSON.stringify(sent.body)),
    signal: sent.signal,
  });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!PER_REQUEST_HEADERS.has(name)) headers[name] = value;
  });
  const raw = await response.text();
  let body: any;
  try {
    body = JSON.parse(raw);
  } catch {
    return { status: response.status, text: raw, body: undefined, headers, statements: undefined };
  }
  const statements = body?.extensions?.sql?.statements;
  if (body?.extensions) delete body.extensions.sql;
  if (body?.extensions && Object.keys(body.extensions).length === 0) delete body.extensions;
  for (const error of body?.errors ?? []) delete error.extensions?.requestId;
  if (typeof body?.requestId === 'string') delete body.requestId;
  return { status: response.status, text: JSON.stringify(body), body, headers, statements };
}

export const post = (
  query: string,
  variables: unknown,
  token: string | null,
  extra: Omit<Sent, 'body' | 'token'> = {},
) => ({
  ...extra,
  body: { query, variables },
  token,
});
