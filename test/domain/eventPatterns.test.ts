import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  closestNames,
  compileMatcher,
  editDistance,
  isValidEventTypeName,
  isValidPattern,
  matchesPattern,
  validatePatterns,
} from '../../server/domain/eventPatterns.js';

// The built-in catalog from SPEC §3 and §10.
const CATALOG = [
  'pipeline.run.started',
  'pipeline.run.succeeded',
  'pipeline.run.failed',
  'pipeline.run.cancelled',
  'orchestration.job.queued',
  'orchestration.lease.acquired',
  'orchestration.backfill.segment_completed',
  'security.api_key.created',
  'security.sso_certificate.expiring',
  'security.policy.changed',
  'governance.contract.violation_detected',
  'governance.catalog.sync_finished',
  'webhook.test',
  'webhook.endpoint.disabled',
  'webhook.endpoint.circuit_opened',
  'webhook.endpoint.recovered',
  'webhook.delivery.exhausted',
];

describe('isValidEventTypeName', () => {
  it('accepts every built-in type and other well-formed names', () => {
    for (const t of [...CATALOG, 'a.b', 'a1.b_2', 'x.y.z.w.v', 'custom.thing_9.done']) {
      expect(isValidEventTypeName(t), t).toBe(true);
    }
  });

  it.each([
    'pipeline',
    '',
    'Pipeline.run',
    'pipeline.Run',
    'pipeline..run',
    '.pipeline.run',
    'pipeline.run.',
    '1pipeline.run',
    'pipeline.1run',
    '_pipeline.run',
    'pipeline.run-failed',
    'pipeline.run failed',
    ' pipeline.run',
    'pipeline.*',
    '*',
    'pipeline.run.é',
  ])('rejects %j', (name) => {
    expect(isValidEventTypeName(name)).toBe(false);
  });

  it('allows at most 128 characters', () => {
    const at128 = `a.${'b'.repeat(126)}`;
    expect(at128).toHaveLength(128);
    expect(isValidEventTypeName(at128)).toBe(true);
    expect(isValidEventTypeName(`${at128}c`)).toBe(false);
  });
});

describe('isValidPattern', () => {
  it('accepts a full type, a prefix ending in .* at any depth, and *', () => {
    for (const p of ['pipeline.run.failed', 'security.*', 'pipeline.run.*', 'a.b.c.*', '*']) expect(isValidPattern(p), p).toBe(true);
  });

  it('rejects wildcards elsewhere and malformed prefixes', () => {
    for (const p of ['pipeline.*.failed', '*.failed', '**', 'security.', 'security*', 'security.**', '.*', 'Security.*', 'pipeline', ' *', 'security.*.*']) {
      expect(isValidPattern(p), p).toBe(false);
    }
  });
});

describe('matchesPattern', () => {
  it('matches a full type only exactly', () => {
    expect(matchesPattern('pipeline.run.failed', 'pipeline.run.failed')).toBe(true);
    expect(matchesPattern('pipeline.run.failed', 'pipeline.run.failed_again')).toBe(false);
    expect(matchesPattern('pipeline.run', 'pipeline.run.failed')).toBe(false);
  });

  it('matches a prefix at any depth below it, but not the prefix itself or a longer sibling', () => {
    expect(matchesPattern('security.*', 'security.api_key.created')).toBe(true);
    expect(matchesPattern('security.*', 'security.a.b.c.d')).toBe(true);
    expect(matchesPattern('security.*', 'security.policy')).toBe(true);
    expect(matchesPattern('security.*', 'security')).toBe(false);
    expect(matchesPattern('security.*', 'securityx.api_key.created')).toBe(false);
    expect(matchesPattern('pipeline.run.*', 'pipeline.run.failed')).toBe(true);
    expect(matchesPattern('pipeline.run.*', 'pipeline.runs.failed')).toBe(false);
    expect(matchesPattern('pipeline.run.*', 'pipeline.run')).toBe(false);
  });

  it('matches everything with *', () => {
    for (const t of CATALOG) expect(matchesPattern('*', t)).toBe(true);
  });
});

describe('validatePatterns', () => {
  it('accepts valid patterns and returns them in order', () => {
    const patterns = ['pipeline.run.failed', 'security.*', 'orchestration.backfill.*', '*'];
    expect(validatePatterns(patterns, CATALOG)).toEqual({ ok: true, patterns });
  });

  it('accepts an empty list', () => {
    expect(validatePatterns([], CATALOG)).toEqual({ ok: true, patterns: [] });
  });

  it('suggests the fix for a typo in a full type', () => {
    expect(validatePatterns(['pipeline.run.faild'], CATALOG)).toEqual({
      ok: false,
      problems: ['Unknown event type "pipeline.run.faild". Did you mean "pipeline.run.failed"?'],
    });
  });

  it('names up to three close types when several are similarly close', () => {
    const r = validatePatterns(['pipeline.run.succeed'], CATALOG);
    expect(r).toEqual({
      ok: false,
      problems: ['Unknown event type "pipeline.run.succeed". Did you mean "pipeline.run.succeeded" or "pipeline.run.started"?'],
    });
    const three = validatePatterns(['a.b.x'], ['a.b.c', 'a.b.d', 'a.b.e', 'a.b.f']);
    expect(three).toEqual({ ok: false, problems: ['Unknown event type "a.b.x". Did you mean "a.b.c", "a.b.d" or "a.b.e"?'] });
  });

  it('still names the closest type for an input far from everything', () => {
    const r = validatePatterns(['foo.bar'], CATALOG);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]).toBe('Unknown event type "foo.bar". Did you mean "webhook.test"?');
  });

  it('suggests prefixes for a wildcard that matches nothing', () => {
    expect(validatePatterns(['secrity.*'], CATALOG)).toEqual({
      ok: false,
      problems: ['No event type matches "secrity.*". Did you mean "security.*"?'],
    });
    expect(validatePatterns(['pipeline.runs.*'], CATALOG)).toEqual({
      ok: false,
      problems: ['No event type matches "pipeline.runs.*". Did you mean "pipeline.run.*"?'],
    });
    // A full type turned into a prefix matches nothing below it.
    const r = validatePatterns(['webhook.test.*'], CATALOG);
    expect(r.ok).toBe(false);
  });

  it('rejects malformed syntax with an explanation', () => {
    const r = validatePatterns(['pipeline.*.failed'], CATALOG);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatch(/^Invalid pattern "pipeline\.\*\.failed": use a full event type/);
      expect(r.problems[0]).toContain('"security.*"');
    }
  });

  it('reports each duplicate once and says which', () => {
    expect(validatePatterns(['security.*', 'webhook.test', 'security.*', 'security.*', 'webhook.test'], CATALOG)).toEqual({
      ok: false,
      problems: ['Duplicate pattern "security.*".', 'Duplicate pattern "webhook.test".'],
    });
  });

  it('rejects * against an empty catalog', () => {
    expect(validatePatterns(['*'], [])).toEqual({ ok: false, problems: ['Pattern "*" matches no event type: the catalog is empty.'] });
  });

  it('collects every problem in input order', () => {
    const r = validatePatterns(['Bad', 'pipeline.run.faild', 'security.*', 'security.*'], CATALOG);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toHaveLength(3);
      expect(r.problems[0]).toMatch(/^Invalid pattern "Bad"/);
      expect(r.problems[1]).toMatch(/^Unknown event type "pipeline.run.faild"/);
      expect(r.problems[2]).toBe('Duplicate pattern "security.*".');
    }
  });

  it('accepts an org-defined type present in the catalog passed in', () => {
    expect(validatePatterns(['billing.invoice.paid'], [...CATALOG, 'billing.invoice.paid']).ok).toBe(true);
    expect(validatePatterns(['billing.invoice.paid'], CATALOG).ok).toBe(false);
  });
});

describe('editDistance and closestNames', () => {
  it('computes Levenshtein distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('property: distance is a metric-like symmetric function bounded by the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(d).toBe(editDistance(b, a));
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
        expect(d === 0).toBe(a === b);
      }),
    );
  });

  it('returns the n closest names, nearest first, ties alphabetical, without duplicates', () => {
    expect(closestNames('pipeline.run.faild', CATALOG, 3)).toEqual([
      'pipeline.run.failed',
      'pipeline.run.started',
      'pipeline.run.cancelled',
    ]);
    expect(closestNames('ab', ['ac', 'aa', 'ab', 'zz', 'aa'], 3)).toEqual(['ab', 'aa', 'ac']);
    expect(closestNames('x', CATALOG, 0)).toEqual([]);
    expect(closestNames('x', [], 3)).toEqual([]);
  });
});

describe('compileMatcher', () => {
  it('matches exact types and wildcard prefixes', () => {
    const m = compileMatcher(['pipeline.run.failed', 'security.*']);
    expect(m('pipeline.run.failed')).toBe(true);
    expect(m('pipeline.run.started')).toBe(false);
    expect(m('security.policy.changed')).toBe(true);
    expect(m('security')).toBe(false);
    expect(m('securityx.a')).toBe(false);
  });

  it('matches nothing with no patterns and everything with *', () => {
    expect(compileMatcher([])('webhook.test')).toBe(false);
    const all = compileMatcher(['pipeline.run.failed', '*']);
    for (const t of CATALOG) expect(all(t)).toBe(true);
  });

  // A tiny alphabet so that random patterns and types actually collide.
  const segment = fc.constantFrom('a', 'b', 'ab', 'a_1');
  const name = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('.'));
  const pattern = fc.oneof(
    fc.constant('*'),
    name.filter((n) => n.includes('.')),
    name.map((n) => `${n}.*`),
  );

  it('property: agrees with matchesPattern for every pattern set and type', () => {
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 6 }), fc.array(name, { minLength: 1, maxLength: 10 }), (patterns, types) => {
        const matcher = compileMatcher(patterns);
        for (const t of types) expect(matcher(t)).toBe(patterns.some((p) => matchesPattern(p, t)));
      }),
      { numRuns: 300 },
    );
  });

  it('property: every generated pattern is valid and validates against a catalog it matches', () => {
    fc.assert(
      fc.property(pattern, fc.array(name.filter((n) => n.includes('.')), { minLength: 1, maxLength: 8 }), (p, catalog) => {
        expect(isValidPattern(p)).toBe(true);
        const r = validatePatterns([p], catalog);
        expect(r.ok).toBe(catalog.some((t) => matchesPattern(p, t)));
      }),
    );
  });
});
