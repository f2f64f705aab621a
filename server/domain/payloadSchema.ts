import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped in `default`.
type AddFormats = (ajv: Ajv2020) => Ajv2020;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

export type PayloadValidator = (data: unknown) => string | null;

/** One Ajv per schema: Ajv registers schemas by `$id`, so two event types sharing one would clash. */
function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: true });
  addFormats(ajv);
  return ajv;
}

/**
 * Compiles the JSON Schema of a custom event type. Returns a validator giving a readable
 * message for the first few problems, or an error naming what is wrong with the schema.
 */
export function compilePayloadSchema(schema: unknown): { ok: true; validate: PayloadValidator } | { ok: false; error: string } {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return { ok: false, error: 'A JSON Schema must be a JSON object, e.g. {"type": "object", "properties": {...}}.' };
  }
  const unsafe = findUnsafePattern(schema);
  if (unsafe) {
    return {
      ok: false,
      error: `Invalid JSON Schema: the regular expression ${JSON.stringify(unsafe)} nests repetitions (like "(a+)+" or "(a|aa)*"), which can take exponential time on some payloads; rewrite it without a repeated group containing a repetition or an alternation.`,
    };
  }
  const ajv = newAjv();
  try {
    if (!ajv.validateSchema(schema)) {
      return { ok: false, error: `Invalid JSON Schema: ${ajv.errorsText(ajv.errors, { dataVar: 'schema' })}.` };
    }
    const check = ajv.compile(schema);
    return {
      ok: true,
      validate: (data) => {
        if (check(data)) return null;
        const problems = (check.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
        return `data does not match the event type's schema: ${problems.join('; ')}.`;
      },
    };
  } catch (err) {
    return { ok: false, error: `Invalid JSON Schema: ${(err as Error).message}.` };
  }
}

/**
 * The first `pattern` / `patternProperties` regular expression in a schema whose repeated group
 * contains another repetition or an alternation (star height > 1, the shape behind catastrophic
 * backtracking), or null. Payload validation runs inside the publish request of every
 * organization, so one such pattern could stall publishing for everyone.
 */
export function findUnsafePattern(schema: unknown, depth = 0): string | null {
  if (depth > 64 || typeof schema !== 'object' || schema === null) return null;
  if (Array.isArray(schema)) {
    for (const item of schema) {
      const found = findUnsafePattern(item, depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'pattern' && typeof value === 'string' && hasNestedRepetition(value)) return value;
    if (key === 'patternProperties' && typeof value === 'object' && value !== null) {
      for (const name of Object.keys(value)) if (hasNestedRepetition(name)) return name;
    }
    const found = findUnsafePattern(value, depth + 1);
    if (found) return found;
  }
  return null;
}

/** True when a group that is itself repeated contains a repetition, an alternation or a backreference. */
export function hasNestedRepetition(pattern: string): boolean {
  // Per open group: does it contain something that makes repeating it ambiguous?
  const stack: boolean[] = [];
  let lastGroupRisky = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9k]/.test(next)) return true; // backreferences make matching non-regular
      i++;
      lastGroupRisky = false;
      continue;
    }
    if (ch === '[') {
      // Skip a character class: its contents are literals.
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      lastGroupRisky = false;
      continue;
    }
    if (ch === '(') {
      stack.push(false);
      lastGroupRisky = false;
      continue;
    }
    if (ch === ')') {
      lastGroupRisky = stack.pop() ?? false;
      continue;
    }
    const unbounded = ch === '*' || ch === '+' || (ch === '{' && /^\{\d*,\d*\}/.test(pattern.slice(i)));
    if (ch === '|' || unbounded) {
      if (unbounded && lastGroupRisky) return true;
      if (stack.length) stack[stack.length - 1] = true;
    }
    lastGroupRisky = false;
  }
  return false;
}
