import { describe, expect, it } from 'vitest';
import { checkSchemaSafety, compilePayloadSchema, MAX_FORMAT_INPUT_LENGTH, MAX_SCHEMA_DEPTH } from '../../server/domain/payloadSchema.js';

const compile = (schema: unknown) => {
  const compiled = compilePayloadSchema(schema);
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.validate;
};

/** CPU time of one call, in ms. */
function timed<T>(fn: () => T): { result: T; ms: number } {
  const started = performance.now();
  const result = fn();
  return { result, ms: performance.now() - started };
}

describe('payload schemas', () => {
  it('compiles a schema and explains the first problems of a payload', () => {
    const validate = compile({
      type: 'object',
      required: ['amount', 'email'],
      properties: { amount: { type: 'number' }, email: { type: 'string', format: 'email' } },
    });
    expect(validate({ amount: 3, email: 'a@b.co' })).toBeNull();
    expect(validate({ amount: 'x', email: 'nope' })).toMatch(/\/amount must be number.*\/email must match format "email"/);
    expect(validate({})).toMatch(/must have required property 'amount'/);
  });

  it('rejects what is not a JSON Schema', () => {
    expect(compilePayloadSchema([1])).toMatchObject({ ok: false });
    expect(compilePayloadSchema(null)).toMatchObject({ ok: false });
    const bad = compilePayloadSchema({ type: 'objec' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/Invalid JSON Schema: .*type/);
  });

  it('lets two schemas share an $id (one validator per schema)', () => {
    const a = compile({ $id: 'https://x.test/s', type: 'object', required: ['a'] });
    const b = compile({ $id: 'https://x.test/s', type: 'object', required: ['b'] });
    expect(a({ a: 1 })).toBeNull();
    expect(b({ a: 1 })).toMatch(/'b'/);
  });

  it('runs every pattern on RE2: the expressions that backtracked for seconds take milliseconds, and still match correctly', () => {
    // Each of these took 2.7–7.1 s on a backtracking engine for the inputs below (issue 16, row 2).
    const cases: [string, string, string][] = [
      ['^(a|a){25}$', 'a'.repeat(25), `${'a'.repeat(24)}b`],
      ['^a*a*a*a*a*a*a*a*a*a*b$', 'aaab', 'a'.repeat(5000)],
      ['^(a+)+$', 'aaaa', `${'a'.repeat(5000)}!`],
      ['^((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+$', 'aa', `${'a'.repeat(2000)}!`],
    ];
    for (const [pattern, good, evil] of cases) {
      const validate = compile({ type: 'object', properties: { s: { type: 'string', pattern } } });
      expect(validate({ s: good }), pattern).toBeNull();
      const { result, ms } = timed(() => validate({ s: evil }));
      expect(result, pattern).toMatch(/must match pattern/);
      expect(ms, pattern).toBeLessThan(1000);
    }
    const keys = compile({ type: 'object', patternProperties: { '^(x+)+$': { type: 'number' } } });
    expect(keys({ xxx: 1 })).toBeNull();
    expect(keys({ xxx: 'no' })).toMatch(/must be number/);
    expect(timed(() => keys({ [`${'x'.repeat(5000)}!`]: 'fine' })).ms).toBeLessThan(1000);
  });

  it('refuses, naming the keyword, patterns RE2 cannot run in linear time', () => {
    for (const [schema, keyword] of [
      [{ properties: { a: { pattern: '(?=a)b' } } }, '"pattern"'],
      [{ properties: { a: { pattern: '(.*)\\1' } } }, '"pattern"'],
      [{ properties: { a: { pattern: 'a{1001}' } } }, '"pattern"'],
      [{ patternProperties: { '(?<!x)y': {} } }, '"patternProperties" key'],
    ] as const) {
      const refused = compilePayloadSchema(schema);
      expect(refused.ok, JSON.stringify(schema)).toBe(false);
      if (!refused.ok) {
        expect(refused.error).toContain(keyword);
        expect(refused.error).toMatch(/linear time/);
      }
    }
  });

  it('refuses schemas nested deeper than MAX_SCHEMA_DEPTH, and finds patterns at any depth it allows', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < MAX_SCHEMA_DEPTH + 5; i++) deep = { type: 'object', properties: { a: deep } };
    const refused = compilePayloadSchema(deep);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error).toMatch(/nested more than 32 levels/);
    // The old check stopped looking at depth 64; now depth itself is bounded and every pattern is seen.
    let within: Record<string, unknown> = { type: 'string', pattern: '(?=x)' };
    for (let i = 0; i < 10; i++) within = { type: 'object', properties: { a: within } };
    expect(checkSchemaSafety(within)).toMatch(/"pattern"/);
  });

  it('checks uniqueItems in linear time over 20,000 arrays, and still finds duplicates (objects compared by value)', () => {
    const validate = compile({ type: 'object', properties: { list: { type: 'array', uniqueItems: true } } });
    const list = Array.from({ length: 20_000 }, (_, i) => [i, 'x']);
    const { result, ms } = timed(() => validate({ list }));
    expect(result).toBeNull();
    expect(ms).toBeLessThan(2000);
    expect(validate({ list: [{ a: 1, b: [2] }, { b: [2], a: 1 }] })).toMatch(/uniqueItems/);
    expect(validate({ list: [1, '1', [1], { 1: 1 }] })).toBeNull();
    expect(validate({ list: [1, 1.0] })).toMatch(/uniqueItems/);
  });

  it('applies non-RE2 formats only to strings up to MAX_FORMAT_INPUT_LENGTH', () => {
    const validate = compile({ type: 'object', properties: { at: { type: 'string', format: 'date-time' }, u: { type: 'string', format: 'uri' } } });
    expect(validate({ at: '2026-12-03T10:00:00Z', u: 'https://x.example/a' })).toBeNull();
    expect(validate({ at: 'yesterday' })).toMatch(/format "date-time"/);
    expect(validate({ u: `https://x.example/${'a'.repeat(MAX_FORMAT_INPUT_LENGTH)}` })).toMatch(/format "uri"/);
  });

  it('stops a validation past its budget, between two regular-expression tests', () => {
    const validate = compile({ type: 'array', items: { type: 'string', pattern: '^[a-z]+$' } });
    let clock = 0;
    const budget = { now: () => (clock += 10), deadline: 25 };
    expect(validate(['a', 'b', 'c', 'd'], budget)).toMatch(/within the time allowed/);
    expect(validate(['a', 'b', 'c', 'd'])).toBeNull();
  });
});
