import { describe, expect, it } from 'vitest';
import { compilePayloadSchema, findUnsafePattern, hasNestedRepetition } from '../../server/domain/payloadSchema.js';

describe('payload schemas', () => {
  it('compiles a schema and explains the first problems of a payload', () => {
    const compiled = compilePayloadSchema({
      type: 'object',
      required: ['amount', 'email'],
      properties: { amount: { type: 'number' }, email: { type: 'string', format: 'email' } },
    });
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    expect(compiled.validate({ amount: 3, email: 'a@b.co' })).toBeNull();
    expect(compiled.validate({ amount: 'x', email: 'nope' })).toMatch(/\/amount must be number.*\/email must match format "email"/);
    expect(compiled.validate({})).toMatch(/must have required property 'amount'/);
  });

  it('rejects what is not a JSON Schema', () => {
    expect(compilePayloadSchema([1])).toMatchObject({ ok: false });
    expect(compilePayloadSchema(null)).toMatchObject({ ok: false });
    const bad = compilePayloadSchema({ type: 'objec' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/Invalid JSON Schema: .*type/);
  });

  it('lets two schemas share an $id (one validator per schema)', () => {
    const a = compilePayloadSchema({ $id: 'https://x.test/s', type: 'object', required: ['a'] });
    const b = compilePayloadSchema({ $id: 'https://x.test/s', type: 'object', required: ['b'] });
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) {
      expect(a.validate({ a: 1 })).toBeNull();
      expect(b.validate({ a: 1 })).toMatch(/'b'/);
    }
  });

  it('refuses regular expressions with nested repetition (catastrophic backtracking)', () => {
    for (const unsafe of ['^(a+)+$', '(x+x+)+y', '^(a{1,})*$', '(\\w+\\s?)*$', '(a|aa)*', '(.*)\\1']) {
      expect(hasNestedRepetition(unsafe), unsafe).toBe(true);
    }
    for (const safe of ['^[a-z]+$', '^(ab)+$', '^\\d{3}-\\d{4}$', '^[(]+$', '(a?){3}', '^run_[0-9A-Z]{26}$', '\\(+']) {
      expect(hasNestedRepetition(safe), safe).toBe(false);
    }
    const schema = { type: 'object', properties: { id: { type: 'string', pattern: '^(a+)+$' } } };
    expect(findUnsafePattern(schema)).toBe('^(a+)+$');
    expect(findUnsafePattern({ patternProperties: { '^(x*)*$': {} } })).toBe('^(x*)*$');
    const refused = compilePayloadSchema(schema);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error).toMatch(/exponential time/);
  });
});
