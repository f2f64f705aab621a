import { describe, expect, it } from 'vitest';
import { compileFilter, filterActivation, type FilterEvent } from '../../server/domain/contentFilter.js';
import { FILTER_LIMITS } from '../../server/domain/contentFilterLimits.js';

const event = (over: Partial<FilterEvent> = {}): FilterEvent => ({
  type: 'pipeline.run.failed',
  data: { severity: 'high', pipeline: 'prod-etl', count: 12, ratio: 0.5, tags: ['a', 'x'], nested: { a: { b: true } }, note: null },
  orderingKey: 'run-1',
  timestampMs: Date.parse('2026-12-01T10:00:00Z'),
  ...over,
});

function run(source: string, e: FilterEvent = event()) {
  const compiled = compileFilter(source);
  if (!compiled.ok) throw new Error(`did not compile: ${compiled.problem.message}`);
  return compiled.filter.evaluate(filterActivation(e));
}

function problem(source: string) {
  const compiled = compileFilter(source);
  if (compiled.ok) throw new Error(`compiled: ${source}`);
  return compiled.problem;
}

describe('compileFilter: the language', () => {
  it.each([
    ['data.severity == "high" && data.pipeline.startsWith("prod-")', true],
    ['data.severity == "low" || data.count > 10', true],
    ['type == "pipeline.run.failed"', true],
    ['type.startsWith("security.")', false],
    ['orderingKey == "run-1"', true],
    ['timestamp > timestamp("2026-01-01T00:00:00Z")', true],
    ['timestamp < timestamp("2026-01-01T00:00:00Z")', false],
    ['data.count == 12 && data.count > 11.5 && data.ratio < 1', true],
    ['data.tags.exists(t, t == "x")', true],
    ['data.tags.all(t, size(t) == 1)', true],
    ['"x" in data.tags', true],
    ['size(data.tags) == 2', true],
    ['has(data.nested.a) && data.nested.a.b', true],
    ['has(data.missing)', false],
    ['data.note == null', true],
    ['data["severity"] == "high"', true],
    ['data.pipeline.matches("^prod-[a-z]+$")', true],
    ['data.severity.contains("ig") && data.pipeline.endsWith("etl")', true],
    ['data.count > 10 ? data.severity == "high" : false', true],
    ['data.tags.map(t, t + "!").exists(t, t == "x!")', true],
    ['!(data.count < 5)', true],
  ])('%s → %s', (source, expected) => {
    expect(run(source)).toEqual({ matched: expected, error: null });
  });

  it('reads a missing key as an error (counted as no match), as CEL does', () => {
    expect(run('data.missing == 1')).toEqual({ matched: false, error: expect.stringMatching(/missing/) });
  });

  it('calls a result that is not a bool an error', () => {
    expect(run('data.severity')).toEqual({ matched: false, error: expect.stringMatching(/string .*not to a bool/) });
    expect(run('data.count')).toEqual({ matched: false, error: expect.stringMatching(/double/) });
  });

  it('treats JSON numbers as doubles (CEL JSON mapping): int arithmetic on them is an error', () => {
    expect(run('data.count + 1.0 == 13.0').matched).toBe(true);
    expect(run('data.count + 1 == 13').error).toMatch(/overload/);
  });
});

describe('compileFilter: refusals, with positions', () => {
  it('refuses syntax errors with line and column', () => {
    expect(problem('1 +')).toMatchObject({ line: 1, column: 3, message: expect.stringMatching(/not valid CEL/) });
  });

  it('refuses unknown names and says what a filter sees', () => {
    expect(problem('type == "a" &&\n  severity == "high"')).toMatchObject({ line: 2, column: 3, message: expect.stringMatching(/unknown name "severity".*data\.severity/) });
  });

  it('refuses unknown functions (no extension libraries)', () => {
    expect(problem('lowerAscii(type) == "x"').message).toMatch(/unknown function "lowerAscii"/);
  });

  it('refuses an empty or too long expression', () => {
    expect(problem('   ').message).toMatch(/empty/);
    expect(problem(`type == "${'x'.repeat(FILTER_LIMITS.length)}"`).message).toMatch(/limit is 1000/);
  });

  it('refuses too many terms', () => {
    const many = Array.from({ length: 40 }, (_, i) => `data.a${i} == ${i}`).join(' || ');
    expect(many.length).toBeLessThan(FILTER_LIMITS.length);
    expect(problem(many).message).toMatch(/too complex/);
  });

  it('refuses a macro inside another macro\'s condition (quadratic), but allows chaining', () => {
    expect(problem('data.tags.exists(a, data.tags.exists(b, a == b))').message).toMatch(/cannot run inside another/);
    expect(compileFilter('data.tags.filter(t, t != "a").exists(t, t == "x")').ok).toBe(true);
  });

  it('accepts only literal regexes, checked when compiled (RE2 syntax)', () => {
    expect(problem('data.pipeline.matches(data.severity)').message).toMatch(/string literal/);
    expect(problem('data.pipeline.matches("(")').message).toMatch(/invalid regular expression/);
    // Backreferences are not RE2: refused rather than run on a backtracking engine.
    expect(problem('data.pipeline.matches("(a)\\\\1")').message).toMatch(/invalid regular expression/);
  });

  it('refuses message construction', () => {
    expect(problem('google.protobuf.Duration{seconds: 1} == google.protobuf.Duration{seconds: 1}').message).toMatch(/message types/);
  });
});

describe('evaluation budget', () => {
  it('stops macros after the iteration budget, across comprehensions', () => {
    const items = Array.from({ length: FILTER_LIMITS.iterations + 1 }, (_, i) => i);
    expect(run('data.items.exists(x, x == -1)', event({ data: { items } })).error).toMatch(/more than 1000 elements/);
    const half = Array.from({ length: 600 }, (_, i) => i);
    expect(run('data.a.exists(x, x == -1) || data.b.exists(x, x == -1)', event({ data: { a: half, b: half } })).error).toMatch(/more than 1000 elements/);
    expect(run('data.a.exists(x, x == 599)', event({ data: { a: half } }))).toEqual({ matched: true, error: null });
  });

  it('stops string work past the budget', () => {
    const s = 'y'.repeat(200_000);
    const source = Array.from({ length: 6 }, () => 'data.s').join(' + ') + ' == ""';
    expect(run(source, event({ data: { s } })).error).toMatch(/more than 1048576 characters/);
    expect(run('data.s.contains("z")', event({ data: { s } }))).toEqual({ matched: false, error: null });
  });

  it('runs a backtracking-hostile regex in linear time (RE2)', () => {
    const started = performance.now();
    expect(run('data.s.matches("^(a+)+$")', event({ data: { s: `${'a'.repeat(5000)}!` } }))).toEqual({ matched: false, error: null });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('resets the budget for each evaluation', () => {
    const compiled = compileFilter('data.items.exists(x, x == 899)');
    if (!compiled.ok) throw new Error('no');
    const activation = filterActivation(event({ data: { items: Array.from({ length: 900 }, (_, i) => i) } }));
    for (let i = 0; i < 5; i++) expect(compiled.filter.evaluate(activation)).toEqual({ matched: true, error: null });
  });
});
