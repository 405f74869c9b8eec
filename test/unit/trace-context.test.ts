import fc from 'fast-check';
import { formatTraceparent, newIds, parseTraceparent, sampledBy } from '../../src/tracing/trace-context';
import { RequestTrace } from '../../src/tracing/request-trace';

/** W3C traceparent parsing and the sampled decision (README "Tracing"). */
describe('traceparent', () => {
  const id = 'a'.repeat(31) + 'b';
  const parent = 'c'.repeat(15) + 'd';

  test('a valid header is read; flags give the sampled bit', () => {
    expect(parseTraceparent(`00-${id}-${parent}-01`)).toEqual({ traceId: id, parentSpanId: parent, sampled: true });
    expect(parseTraceparent(`00-${id}-${parent}-00`)).toEqual({ traceId: id, parentSpanId: parent, sampled: false });
    // A later version may append fields (forward compatibility).
    expect(parseTraceparent(`01-${id}-${parent}-01-more`)?.traceId).toBe(id);
  });

  test.each([
    undefined,
    '',
    'garbage',
    `00-${id.toUpperCase()}-${parent}-01`,
    `00-${'0'.repeat(32)}-${parent}-01`,
    `00-${id}-${'0'.repeat(16)}-01`,
    `ff-${id}-${parent}-01`,
    `00-${id}-${parent}-01-extra`,
    `00-${id}-${parent}-1`,
    `00-${id}-${parent}`,
    `00-${id}-${parent}-01`.repeat(40),
  ])('%p is ignored', (header) => {
    expect(parseTraceparent(header)).toBeNull();
  });

  test('a new trace gets a fresh trace id; a continued one keeps it; the header round-trips', () => {
    const fresh = new RequestTrace(undefined);
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh.parentSpanId).toBeNull();
    const continued = new RequestTrace(`00-${id}-${parent}-01`);
    expect(continued.traceId).toBe(id);
    expect(continued.parentSpanId).toBe(parent);
    expect(parseTraceparent(continued.traceparent())).toMatchObject({ traceId: id, sampled: false });
    expect(formatTraceparent(id, parent, true)).toBe(`00-${id}-${parent}-01`);
  });
});

describe('sampledBy', () => {
  test('0 keeps none, 1 keeps all', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{32}$/), (traceId) => {
        expect(sampledBy(traceId, 0)).toBe(false);
        expect(sampledBy(traceId, 1)).toBe(true);
        expect(sampledBy(traceId, '1.00')).toBe(true);
      }),
    );
  });

  test('monotonic in the rate: kept at a rate means kept at every higher rate', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{32}$/), fc.integer({ min: 0, max: 100 }), (traceId, hundredths) => {
        if (sampledBy(traceId, hundredths / 100))
          expect(sampledBy(traceId, Math.min(1, (hundredths + 1) / 100))).toBe(true);
      }),
    );
  });

  test('the threshold is exact at the boundary of the rightmost 56 bits', () => {
    const prefix = '0'.repeat(18);
    // 0.5 × 2^56 = 0x80000000000000: just below is kept, exactly at it is not.
    expect(sampledBy(`${prefix}7fffffffffffff`, 0.5)).toBe(true);
    expect(sampledBy(`${prefix}80000000000000`, 0.5)).toBe(false);
    // The left 72 bits do not matter.
    expect(sampledBy(`${'f'.repeat(18)}7fffffffffffff`, 0.5)).toBe(true);
  });
});

describe('new ids (drawn from a pooled CSPRNG buffer)', () => {
  test('well-formed, never repeated across many pool refills, and random enough for the sampled decision', () => {
    const traces = new Set<string>();
    const spans = new Set<string>();
    let sampled = 0;
    const N = 10_000; // 78 refills of the 128-id pool
    for (let i = 0; i < N; i++) {
      const { traceId, spanId } = newIds();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(parseTraceparent(formatTraceparent(traceId, spanId, true))).not.toBeNull();
      traces.add(traceId);
      spans.add(spanId);
      if (sampledBy(traceId, 0.5)) sampled++;
    }
    expect(traces.size).toBe(N);
    expect(spans.size).toBe(N);
    // No byte of one id is reused by the next: a trace id never shares its span id's bytes.
    expect([...traces].some((t) => spans.has(t.slice(0, 16)))).toBe(false);
    // A fair coin over 10,000 ids: 50 % ± 3 % (6 standard deviations; a stuck or constant source gives 0 or 1).
    expect(sampled / N).toBeGreaterThan(0.47);
    expect(sampled / N).toBeLessThan(0.53);
  });
});
