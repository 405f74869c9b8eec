import crypto from 'node:crypto';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): `traceparent: 00-<32 hex trace id>-<16 hex
 * parent span id>-<2 hex flags>`. A valid one from the caller is continued; anything else (malformed,
 * version ff, all-zero ids, upper-case hex) is ignored and a new trace begins: a tracing header never
 * makes a request fail (as the spec asks of a vendor that cannot parse it).
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export interface IncomingTraceparent {
  traceId: string;
  parentSpanId: string;
  sampled: boolean;
}

export function parseTraceparent(header: string | string[] | undefined): IncomingTraceparent | null {
  if (typeof header !== 'string' || header.length > 512) return null;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return null;
  const [, version, traceId, parentSpanId, flags, rest] = match;
  if (version === 'ff') return null;
  // Version 00 has exactly four fields; a later version may append more (the spec's forward compatibility).
  if (version === '00' && rest !== undefined) return null;
  if (traceId === ZERO_TRACE || parentSpanId === ZERO_SPAN) return null;
  return { traceId, parentSpanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

const ID_BYTES = 24; // 16 for the trace id, 8 for the span id
const IDS_PER_FILL = 128;
const idPool = Buffer.alloc(ID_BYTES * IDS_PER_FILL);
let nextId = IDS_PER_FILL;

/**
 * A new trace id and span id (random, as W3C Trace Context level 2 asks of the trace id's right part).
 * Every request needs one, so the bytes come from the CSPRNG 128 ids at a time (one `randomFillSync` of a
 * 3 KB pool, as `crypto.randomUUID` batches its own): the same random bytes, each handed out once, without a
 * crypto job and a Buffer per request (bench/README.md "Per-request overhead").
 */
export function newIds(): { traceId: string; spanId: string } {
  if (nextId === IDS_PER_FILL) {
    crypto.randomFillSync(idPool);
    nextId = 0;
  }
  const start = nextId++ * ID_BYTES;
  return {
    traceId: idPool.toString('hex', start, start + 16),
    spanId: idPool.toString('hex', start + 16, start + ID_BYTES),
  };
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

const TWO_POW_56 = 1n << 56n;

/**
 * The `sampled` decision, a pure function of the trace id and the rate so that every replica (and every
 * later hop) decides alike: the trace id's rightmost 56 bits (7 bytes, the part W3C Trace Context level 2
 * requires to be random) as an unsigned integer, compared with rate × 2^56. The rate is stored with two
 * decimals (0.00–1.00), so the threshold is exact: hundredths × 2^56 / 100. 1.00 keeps every trace, 0.00
 * none. (OpenTelemetry's TraceIdRatioBased sampler works the same way on 63 bits; this is its consistent-
 * probability successor's rule.)
 */
export function sampledBy(traceId: string, rate: number | string): boolean {
  const hundredths = BigInt(Math.max(0, Math.min(100, Math.round(Number(rate) * 100))));
  const value = BigInt(`0x${traceId.slice(18)}`);
  return value * 100n < hundredths * TWO_POW_56;
}
