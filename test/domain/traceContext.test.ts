import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { childTraceparent, formatTraceparent, parseTraceparent } from '../../server/domain/traceContext.js';

const EXAMPLE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('parseTraceparent', () => {
  it('reads the specification example', () => {
    expect(parseTraceparent(EXAMPLE)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
    expect(parseTraceparent(`  ${EXAMPLE.replace(/01$/, '00')} `)).toMatchObject({ sampled: false });
    // Flags other than "sampled" do not make it sampled.
    expect(parseTraceparent(EXAMPLE.replace(/01$/, '02'))).toMatchObject({ sampled: false });
  });

  it('reads a later version by its first four fields', () => {
    expect(parseTraceparent(`01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next`)).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    expect(parseTraceparent(`cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09`)).toMatchObject({ sampled: true });
  });

  it.each([
    ['empty', ''],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['version 00 with a fifth field', `${EXAMPLE}-extra`],
    ['a later version with something glued on', `01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x`],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['upper-case hex', EXAMPLE.toUpperCase()],
    ['short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['long parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b70-01'],
    ['not hex', '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01'],
    ['other separators', '00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01'],
  ])('refuses %s', (_why, value) => {
    expect(parseTraceparent(value)).toBeNull();
  });

  it('round-trips whatever it formats', () => {
    const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
    fc.assert(
      fc.property(hex(32), hex(16), fc.boolean(), (traceId, spanId, sampled) => {
        fc.pre(!/^0+$/.test(traceId) && !/^0+$/.test(spanId));
        expect(parseTraceparent(formatTraceparent({ traceId, spanId, sampled }))).toEqual({ traceId, spanId, sampled });
      }),
    );
  });
});

describe('childTraceparent', () => {
  it('keeps the trace and the sampling decision, names the new span', () => {
    expect(childTraceparent(parseTraceparent(EXAMPLE)!, 'b7ad6b7169203331')).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01');
    expect(childTraceparent(parseTraceparent('02-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x')!, 'b7ad6b7169203331')).toBe(
      '00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-00',
    );
  });
});
