/**
 * Shape checks of configuration document values: the JSON types an entry's fields must have
 * before they become endpoint or event-type inputs (what GraphQL's input types check for a
 * mutation). The rules on the values themselves (ranges, URL rules, patterns) stay with the
 * endpoint and event-type services, which check a document like any mutation's input.
 */
import { canonicalJson } from '../idempotency.js';
import type { InputProblem } from '../errors.js';

/** Marks a value that failed its shape check (a problem was recorded). */
export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

/** Where a value is and where its problems go. */
export interface ReadContext {
  at: string;
  problems: InputProblem[];
}

/** `parent.child`, or `parent["child"]` when the child name is not a plain identifier. */
export function pathOf(parent: string, child: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(child) ? `${parent}.${child}` : `${parent}[${JSON.stringify(child)}]`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(ctx: ReadContext, what: string): Invalid {
  ctx.problems.push({ field: ctx.at, message: `${ctx.at} must be ${what}.` });
  return INVALID;
}

export function readString(raw: unknown, ctx: ReadContext, what = 'a string'): string | Invalid {
  return typeof raw === 'string' ? raw : fail(ctx, what);
}

export function readNumber(raw: unknown, ctx: ReadContext): number | Invalid {
  return typeof raw === 'number' && Number.isFinite(raw) ? raw : fail(ctx, 'a number');
}

export function readBoolean(raw: unknown, ctx: ReadContext): boolean | Invalid {
  return typeof raw === 'boolean' ? raw : fail(ctx, 'true or false');
}

export function readStringList(raw: unknown, ctx: ReadContext): string[] | Invalid {
  if (!Array.isArray(raw)) return fail(ctx, 'a list of strings');
  const bad = raw.findIndex((v) => typeof v !== 'string');
  if (bad >= 0) {
    ctx.problems.push({ field: `${ctx.at}[${bad}]`, message: `${ctx.at}[${bad}] must be a string.` });
    return INVALID;
  }
  return raw as string[];
}

export function readOneOf<T extends string>(raw: unknown, values: readonly T[], ctx: ReadContext): T | Invalid {
  return typeof raw === 'string' && (values as readonly string[]).includes(raw) ? (raw as T) : fail(ctx, `one of ${values.join(', ')}`);
}

/**
 * An object whose keys must all be in `known`: a misspelt setting must not be silently ignored in
 * a document that claims to be the whole configuration. Unknown keys are reported and left out,
 * so the known ones are still checked (every problem of a document is reported at once).
 */
export function readObject(raw: unknown, known: readonly string[], ctx: ReadContext): Record<string, unknown> | Invalid {
  if (!isPlainObject(raw)) return fail(ctx, 'an object');
  const object: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (known.includes(key)) {
      object[key] = value;
    } else {
      const at = pathOf(ctx.at, key);
      ctx.problems.push({ field: at, message: `${at} is not a known setting (known: ${known.join(', ')}).` });
    }
  }
  return object;
}

/** Structural equality of JSON values (object key order does not count). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
