import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { RE2JS } from '@bufbuild/re2';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped in `default`.
type AddFormats = (ajv: Ajv2020, options?: { formats?: string[] }) => Ajv2020;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

export type PayloadValidator = (data: unknown, budget?: ValidationBudget) => string | null;

/**
 * How long one validation may run: checked before every regular-expression test (the only
 * work in a validation that grows with both the payload and the schema), so a validation stops
 * within one test of `deadline`. The clock is passed in: this module stays pure.
 */
export interface ValidationBudget {
  now(): number;
  deadline: number;
}

/** Schemas nest at most this deep (objects and arrays of the schema document). */
export const MAX_SCHEMA_DEPTH = 32;
/**
 * Formats whose checker is not a regular expression RE2 can run (date-time, uri, url, hostname,
 * duration...) are applied to strings up to this long; longer ones do not match the format.
 */
export const MAX_FORMAT_INPUT_LENGTH = 8192;

class BudgetExceeded extends Error {}

/**
 * The regular-expression engine of every schema: RE2 (@bufbuild/re2, the pure-JavaScript port
 * content filters use too: linear in the input whatever the pattern, no native build). A pattern RE2 cannot run (lookaround,
 * backreference) is refused when the event type is created (checkSchemaSafety).
 */
let activeBudget: ValidationBudget | null = null;
function re2Engine(pattern: string): { test(input: string): boolean; toString(): string } {
  const compiled = RE2JS.compile(pattern);
  return {
    // Ajv keys its compiled patterns by this text: it must differ per pattern.
    toString: () => `re2:${pattern}`,
    test(input: string): boolean {
      if (activeBudget && activeBudget.now() > activeBudget.deadline) throw new BudgetExceeded();
      return compiled.test(input);
    },
  };
}
const regExp = Object.assign(re2Engine, { code: '@bufbuild/re2' });

/** uniqueItems in linear time: items compared by a canonical JSON text (Ajv's own check is quadratic). */
function allUnique(items: unknown[]): boolean {
  const seen = new Set<string>();
  for (const item of items) {
    const key = canonicalJson(item);
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** One Ajv per schema: Ajv registers schemas by `$id`, so two event types sharing one would clash. */
function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: true, code: { regExp } });
  addFormats(ajv);
  // Formats that are regular expressions run on RE2 too; the others (functions, or expressions
  // with lookarounds) only on strings of a bounded length.
  for (const [name, format] of Object.entries(fullFormats)) {
    const definition = (typeof format === 'object' && format !== null && !(format instanceof RegExp) ? format : { validate: format }) as {
      validate: RegExp | ((s: string) => boolean);
      compare?: (a: string, b: string) => number | undefined;
      type?: string;
    };
    if (definition.type === 'number' || definition.validate === undefined) continue;
    const original = definition.validate;
    let validate: (s: string) => boolean;
    const re2 = original instanceof RegExp ? compileRe2(original) : null;
    if (re2) validate = (s) => re2.test(s);
    else if (original instanceof RegExp) validate = (s) => s.length <= MAX_FORMAT_INPUT_LENGTH && original.test(s);
    else validate = (s) => s.length <= MAX_FORMAT_INPUT_LENGTH && original(s);
    ajv.addFormat(name, { type: 'string', validate, ...(definition.compare ? { compare: definition.compare } : {}) });
  }
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({
    keyword: 'uniqueItems',
    type: 'array',
    schemaType: 'boolean',
    validate: (unique: boolean, data: unknown[]) => !unique || allUnique(data),
    errors: false,
  });
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
  const unsafe = checkSchemaSafety(schema);
  if (unsafe) return { ok: false, error: `Invalid JSON Schema: ${unsafe}` };
  const ajv = newAjv();
  try {
    if (!ajv.validateSchema(schema)) {
      return { ok: false, error: `Invalid JSON Schema: ${ajv.errorsText(ajv.errors, { dataVar: 'schema' })}.` };
    }
    const check = ajv.compile(schema);
    return {
      ok: true,
      validate: (data, budget) => {
        activeBudget = budget ?? null;
        let valid: boolean;
        try {
          valid = check(data) as boolean;
        } catch (err) {
          if (err instanceof BudgetExceeded) return 'data could not be checked against the event type\'s schema within the time allowed; send a smaller payload or fewer events per call.';
          // A payload nested deeper than the validator's recursion (recursive $ref) can go.
          if (err instanceof RangeError) return 'data is nested too deeply to be checked against the event type\'s schema; flatten it.';
          throw err;
        } finally {
          activeBudget = null;
        }
        if (valid) return null;
        const problems = (check.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
        return `data does not match the event type's schema: ${problems.join('; ')}.`;
      },
    };
  } catch (err) {
    return { ok: false, error: `Invalid JSON Schema: ${(err as Error).message}.` };
  }
}

/**
 * Why a schema cannot be enforced safely, naming the keyword, or null: nested deeper than
 * MAX_SCHEMA_DEPTH, or a `pattern` / `patternProperties` regular expression RE2 cannot run in
 * linear time (lookarounds, backreferences, repeat counts over 1,000, a too large program).
 * Walks without recursion.
 */
export function checkSchemaSafety(schema: unknown): string | null {
  const stack: { value: unknown; depth: number; at: string }[] = [{ value: schema, depth: 0, at: '(root)' }];
  while (stack.length > 0) {
    const { value, depth, at } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_SCHEMA_DEPTH) {
      return `the schema is nested more than ${MAX_SCHEMA_DEPTH} levels deep (at ${at}); flatten it (e.g. with $defs and $ref).`;
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, depth: depth + 1, at: `${at}[${i}]` }));
      continue;
    }
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'pattern' && typeof inner === 'string') {
        const problem = re2Problem(inner);
        if (problem) return `"pattern" ${JSON.stringify(short(inner))} at ${at} ${problem}`;
      }
      if (key === 'patternProperties' && typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
        for (const name of Object.keys(inner)) {
          const problem = re2Problem(name);
          if (problem) return `"patternProperties" key ${JSON.stringify(short(name))} at ${at} ${problem}`;
        }
      }
      stack.push({ value: inner, depth: depth + 1, at: `${at}.${short(key)}` });
    }
  }
  return null;
}

function compileRe2(re: RegExp): RE2JS | null {
  try {
    return RE2JS.compile(re.source, re.flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0);
  } catch {
    return null;
  }
}

function re2Problem(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (err) {
    const reason = (err as Error).message.replace(/^error parsing regexp: /, '');
    return `cannot be checked in linear time (${reason}): payloads are matched with RE2, which has no lookarounds, backreferences or repeat counts over 1,000; rewrite it without them.`;
  }
}

function short(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
