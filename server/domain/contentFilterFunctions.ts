/**
 * The functions a content filter (domain/contentFilter.ts) can call, each charged to one meter so
 * that an evaluation stops at its budget (FILTER_LIMITS), and the CEL environment made of them.
 */
import { celEnv, celError, celFunc, celMethod, CelScalar, listType, type CelEnv, type CelValue } from '@bufbuild/cel';
import { RE2JS } from '@bufbuild/re2';
import { FILTER_LIMITS } from './contentFilterLimits.js';

// Evaluation is synchronous and single-threaded, so one meter serves every evaluation: it is
// reset before each one and charged by the functions below.
let iterationsLeft = 0;
let workLeft = 0;

/** Gives the next evaluation the whole budget. */
export function resetMeter(): void {
  iterationsLeft = FILTER_LIMITS.iterations;
  workLeft = FILTER_LIMITS.work;
}

function chargeWork(units: number): void {
  workLeft -= units;
  if (workLeft < 0) throw celError(`the filter handled more than ${FILTER_LIMITS.work} characters of strings and lists in one evaluation`);
}

export const ITERATE = '@iterate';
const { BOOL, BYTES, DYN, INT, STRING } = CelScalar;
const LIST = listType(DYN);

const patterns = new Map<string, RE2JS>();
export function compiledPattern(pattern: string): RE2JS {
  let re = patterns.get(pattern);
  if (!re) {
    re = RE2JS.compile(pattern);
    if (patterns.size >= FILTER_LIMITS.cachedPatterns) patterns.delete(patterns.keys().next().value!);
    patterns.set(pattern, re);
  }
  return re;
}

function sizeOf(value: CelValue): number {
  const v = value as unknown as { size?: number; length?: number };
  return typeof v === 'string' ? (v as string).length : (v.size ?? v.length ?? 0);
}

const meteredFunctions = [
  // Comprehension ranges are wrapped in this at compile time (see guardComprehensions, contentFilterInspection.ts).
  celFunc(ITERATE, [DYN], DYN, (range) => {
    iterationsLeft -= sizeOf(range);
    if (iterationsLeft < 0) throw celError(`the filter's macros went through more than ${FILTER_LIMITS.iterations} elements in one evaluation`);
    return range;
  }),
  // Overrides of the standard overloads with the same signatures, each charged to the meter.
  celFunc('_+_', [STRING, STRING], STRING, (l, r) => {
    chargeWork(l.length + r.length);
    return l + r;
  }),
  celFunc('_+_', [BYTES, BYTES], BYTES, (l, r) => {
    chargeWork(l.length + r.length);
    const out = new Uint8Array(l.length + r.length);
    out.set(l, 0);
    out.set(r, l.length);
    return out;
  }),
  celFunc('_+_', [LIST, LIST], LIST, (l, r) => {
    chargeWork(l.size + r.size);
    return [...l, ...r];
  }),
  celMethod('contains', STRING, [STRING], BOOL, function (s) {
    chargeWork(this.length);
    return this.includes(s);
  }),
  celMethod('startsWith', STRING, [STRING], BOOL, function (s) {
    chargeWork(s.length);
    return this.startsWith(s);
  }),
  celMethod('endsWith', STRING, [STRING], BOOL, function (s) {
    chargeWork(s.length);
    return this.endsWith(s);
  }),
  celMethod('matches', STRING, [STRING], BOOL, function (pattern) {
    chargeWork(this.length);
    return compiledPattern(pattern).test(this);
  }),
  celFunc('size', [STRING], INT, (s) => {
    chargeWork(s.length);
    return BigInt([...s].length);
  }),
  celMethod('size', STRING, [], INT, function () {
    chargeWork(this.length);
    return BigInt([...this].length);
  }),
];

// Annotated because the build emits declarations, and the inferred type names a private module of @bufbuild/cel.
export const env: CelEnv = celEnv({ funcs: meteredFunctions });
// Plus the operators the planner implements itself (logic, indexing, the conditional, macro helpers).
const PLANNER_OPERATORS = ['_&&_', '_||_', '_?_:_', '_[_]', '@not_strictly_false', '__not_strictly_false__'];
export const KNOWN_FUNCTIONS = new Set([...[...env.funcs].map((f) => f.name).filter((name) => name !== ITERATE), ...PLANNER_OPERATORS]);
