import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkUid, parseRef, uidProblem, UID_MAX_LENGTH } from '../../server/domain/clientIds.js';
import type { InputProblem } from '../../server/domain/errors.js';
import { ID_PREFIXES, makeId, type IdKind } from '../../server/domain/ids.js';

describe('uidProblem', () => {
  it('accepts letters, digits, "-", "_" and "." up to 64 characters', () => {
    for (const uid of ['a', 'billing-alerts', 'Team_A.prod-1', '0', '...', 'x'.repeat(UID_MAX_LENGTH), 'EP_lower', 'ep-01M8CKN2KBRTPZ3VX9J7G7V2GG']) {
      expect(uidProblem(uid), uid).toBeNull();
    }
  });

  it('refuses the empty string, other characters and overlong values', () => {
    for (const uid of ['', ' ', 'a b', 'a/b', 'a:b', 'é', 'a\n', 'x'.repeat(UID_MAX_LENGTH + 1), '${ENV}']) {
      expect(uidProblem(uid), JSON.stringify(uid)).toMatch(/letters, digits/);
    }
  });

  it('refuses anything shaped like a generated id of any kind', () => {
    for (const kind of Object.keys(ID_PREFIXES) as IdKind[]) {
      expect(uidProblem(makeId(kind, 1_700_000_000_000, new Uint8Array(10).fill(7)))).toMatch(/generated id/);
    }
    expect(uidProblem('zz_01M8CKN2KBRTPZ3VX9J7G7V2GG')).toMatch(/generated id/);
  });

  it('never accepts a string that parseRef would read as an id', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (value) => {
        const ref = parseRef('endpoint', value);
        if (ref.by === 'id') expect(uidProblem(value)).not.toBeNull();
        if (ref.by === 'uid') expect(uidProblem(value)).toBeNull();
      }),
    );
  });
});

describe('checkUid', () => {
  it('keeps absent as absent, clears on null or "", and reports problems on the field', () => {
    const problems: InputProblem[] = [];
    expect(checkUid(undefined, 'uid', problems)).toBeUndefined();
    expect(checkUid(null, 'uid', problems)).toBeNull();
    expect(checkUid('', 'uid', problems)).toBeNull();
    expect(checkUid('ok-1', 'uid', problems)).toBe('ok-1');
    expect(problems).toEqual([]);
    checkUid('not ok', 'endpoints.x.uid', problems);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ field: 'endpoints.x.uid' });
    expect(problems[0]!.message).toContain('"not ok"');
  });

  it('shortens a long bad value in the message', () => {
    const problems: InputProblem[] = [];
    checkUid('y'.repeat(500), 'uid', problems);
    expect(problems[0]!.message.length).toBeLessThan(300);
  });
});

describe('parseRef', () => {
  it('reads ids of the kind, uids, and refuses the rest', () => {
    const id = makeId('endpoint', 1_700_000_000_000, new Uint8Array(10));
    expect(parseRef('endpoint', id)).toEqual({ by: 'id', id });
    expect(parseRef('endpoint', 'billing')).toEqual({ by: 'uid', uid: 'billing' });
    // An id of another kind can never be a uid either: it names nothing.
    expect(parseRef('endpoint', makeId('eventType', 1, new Uint8Array(10)))).toEqual({ by: 'none' });
    expect(parseRef('endpoint', 'has space')).toEqual({ by: 'none' });
    expect(parseRef('eventType', makeId('eventType', 1, new Uint8Array(10))).by).toBe('id');
  });
});
