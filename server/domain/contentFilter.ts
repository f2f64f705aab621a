/**
 * Endpoint content filters (SPEC §10): a CEL expression over the event (`type`, `data`,
 * `orderingKey`, `timestamp`) that must be true for the event to reach the endpoint.
 *
 * CEL by @bufbuild/cel (conformance-tested against cel-spec; regexes on RE2, linear time). What
 * this module adds is cost control, because filters run inside publishing, on the api's event
 * loop, once per (event, endpoint):
 * - at compile time: length, AST size, known variables and functions only, no comprehension
 *   inside another one's body (that would be quadratic in the payload), regex patterns must be
 *   literals (compiled once, checked here);
 * - at evaluation time, a budget per evaluation: elements iterated by comprehension macros
 *   (`exists`, `all`, `map`, `filter`, `exists_one`) and characters handled by string, bytes and
 *   list operations (`+`, `contains`, `startsWith`, `endsWith`, `matches`, `size`). Exceeding it
 *   is an evaluation error, which the caller counts as "no match".
 *
 * Pure: no I/O, no clock (the event's timestamp is part of the input).
 */
import { celEnv, celError, celFunc, celList, celMap, celMethod, CelScalar, isCelError, listType, parse, plan, type CelValue } from '@bufbuild/cel';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { RE2JS } from '@bufbuild/re2';

export const FILTER_LIMITS = {
  /** Characters of the expression. */
  length: 1_000,
  /** Nodes of the parsed expression (a comparison like `data.a == "x"` is 4). */
  nodes: 120,
  /** Elements iterated by comprehension macros, per evaluation, all comprehensions together. */
  iterations: 1_000,
  /** Characters (or bytes, or list elements) handled by string/bytes/list operations, per evaluation. */
  work: 1_048_576,
  /** Distinct regex patterns kept compiled (patterns are literals of stored filters). */
  cachedPatterns: 1_000,
} as const;

/** The variables a filter sees. */
export const FILTER_VARIABLES = ['type', 'data', 'orderingKey', 'timestamp'] as const;

/** An event as a filter sees it. */
export interface FilterEvent {
  type: string;
  data: Record<string, unknown>;
  orderingKey: string | null;
  /** Publish time (ms since the epoch): the envelope's `timestamp`. */
  timestampMs: number;
}

/** Bindings of one event, built once and shared by every filter evaluated against it. */
export type FilterActivation = { readonly __activation: unique symbol } & Record<string, unknown>;

export type FilterEvaluation = { matched: boolean; error: null } | { matched: false; error: string };

export interface CompiledFilter {
  source: string;
  evaluate(activation: FilterActivation): FilterEvaluation;
}

export interface FilterProblem {
  message: string;
  /** 1-based line and column, and 0-based offset, of the offending part of the expression. */
  line: number;
  column: number;
  offset: number;
}

export type FilterCompilation = { ok: true; filter: CompiledFilter } | { ok: false; problem: FilterProblem };

/**
 * Builds the bindings of one event. The payload is converted to CEL values once here: left as
 * plain objects, every filter would convert what it reads again (measured: ~2.5× the cost of a
 * typical filter), and an event is evaluated against every filtered endpoint of its organization.
 */
export function filterActivation(event: FilterEvent): FilterActivation {
  return {
    type: event.type,
    data: toCelValue(event.data),
    orderingKey: event.orderingKey,
    timestamp: timestampFromMs(event.timestampMs),
  } as unknown as FilterActivation;
}

/** JSON as CEL values: objects as maps, arrays as lists, numbers as doubles (CEL's JSON mapping). */
function toCelValue(value: unknown): unknown {
  if (Array.isArray(value)) return celList(value.map(toCelValue) as never);
  if (value !== null && typeof value === 'object') {
    const map = new Map<string, unknown>();
    for (const key of Object.keys(value)) map.set(key, toCelValue((value as Record<string, unknown>)[key]));
    return celMap(map as never);
  }
  return value;
}

// ---- evaluation budget -------------------------------------------------------------------
// Evaluation is synchronous and single-threaded, so one meter serves every evaluation: it is
// reset before each one and charged by the functions below.
let iterationsLeft = 0;
let workLeft = 0;

function chargeWork(units: number): void {
  workLeft -= units;
  if (workLeft < 0) throw celError(`the filter handled more than ${FILTER_LIMITS.work} characters of strings and lists in one evaluation`);
}

const ITERATE = '@iterate';
const { BOOL, BYTES, DYN, INT, STRING } = CelScalar;
const LIST = listType(DYN);

const patterns = new Map<string, RE2JS>();
function compiledPattern(pattern: string): RE2JS {
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
  // Comprehension ranges are wrapped in this at compile time (see guardComprehensions).
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

const env = celEnv({ funcs: meteredFunctions });
// Plus the operators the planner implements itself (logic, indexing, the conditional, macro helpers).
const PLANNER_OPERATORS = ['_&&_', '_||_', '_?_:_', '_[_]', '@not_strictly_false', '__not_strictly_false__'];
const KNOWN_FUNCTIONS = new Set([...[...env.funcs].map((f) => f.name).filter((name) => name !== ITERATE), ...PLANNER_OPERATORS]);

// ---- compilation -------------------------------------------------------------------------

/** The parsed expression tree as @bufbuild/cel produces it (protobuf messages, walked structurally). */
interface Expr {
  id: bigint;
  exprKind: { case: string | undefined; value: any };
}

type Located = (id: bigint, message: string) => FilterProblem;

/** Compiles a filter, or says what is wrong with it and where. */
export function compileFilter(source: string): FilterCompilation {
  if (source.trim() === '') return fail({ message: 'filter is empty: give a CEL expression such as data.severity == "high", or null for no filter.', line: 1, column: 1, offset: 0 });
  if (source.length > FILTER_LIMITS.length) {
    return fail({ message: `filter is ${source.length} characters long; the limit is ${FILTER_LIMITS.length}.`, line: 1, column: FILTER_LIMITS.length + 1, offset: FILTER_LIMITS.length });
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    return fail(syntaxProblem(source, err));
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const at: Located = (id, message) => {
    const offset = Number((positions as Record<string, number>)[String(id)] ?? 0);
    return { message, ...lineAndColumn(source, offset), offset };
  };
  const problem = inspect(parsed.expr as unknown as Expr, at);
  if (problem) return fail(problem);
  guardComprehensions(parsed.expr as unknown as Expr, { next: maxId(parsed.expr as unknown as Expr) + 1n });
  let program: ReturnType<typeof plan>;
  try {
    program = plan(env, parsed);
  } catch (err) {
    return fail({ message: `filter cannot be compiled: ${(err as Error).message}.`, line: 1, column: 1, offset: 0 });
  }
  return {
    ok: true,
    filter: {
      source,
      evaluate(activation) {
        iterationsLeft = FILTER_LIMITS.iterations;
        workLeft = FILTER_LIMITS.work;
        let result: unknown;
        try {
          result = program(activation as never);
        } catch (err) {
          // The evaluator turns errors into values; anything thrown is still the filter's failure.
          return { matched: false, error: describeError(err, at) };
        }
        if (isCelError(result)) return { matched: false, error: describeError(result, at) };
        if (typeof result !== 'boolean') return { matched: false, error: `the filter evaluated to ${describeValue(result)}, not to a bool.` };
        return { matched: result, error: null };
      },
    },
  };
}

function fail(problem: FilterProblem): FilterCompilation {
  return { ok: false, problem };
}

/** The first problem of the expression tree (unknown names, nesting, regexes, size), or null. */
function inspect(root: Expr, at: Located): FilterProblem | null {
  let nodes = 0;
  const visit = (expr: Expr | undefined, bound: ReadonlySet<string>, inLoopBody: boolean): FilterProblem | null => {
    if (!expr) return null;
    if (++nodes > FILTER_LIMITS.nodes) return at(expr.id, `filter is too complex: more than ${FILTER_LIMITS.nodes} terms. Split the condition, or move it into an event type.`);
    const { case: kind, value } = expr.exprKind;
    switch (kind) {
      case 'constExpr':
        return null;
      case 'identExpr':
        if (bound.has(value.name) || (FILTER_VARIABLES as readonly string[]).includes(value.name)) return null;
        return at(expr.id, `unknown name "${value.name}": a filter sees ${FILTER_VARIABLES.join(', ')} (e.g. data.${value.name}).`);
      case 'selectExpr':
        return visit(value.operand, bound, inLoopBody);
      case 'callExpr': {
        if (!KNOWN_FUNCTIONS.has(value.function)) return at(expr.id, `unknown function "${value.function}".`);
        if (value.function === 'matches') {
          const pattern = value.target ? value.args[0] : value.args[1];
          const literal = pattern?.exprKind.case === 'constExpr' && pattern.exprKind.value.constantKind.case === 'stringValue';
          if (!literal) return at(expr.id, 'matches() takes a string literal as its pattern, e.g. data.branch.matches("^release-[0-9]+$").');
          try {
            compiledPattern(pattern.exprKind.value.constantKind.value);
          } catch (err) {
            return at(pattern.id, `invalid regular expression (RE2 syntax): ${(err as Error).message}.`);
          }
        }
        for (const e of [value.target, ...value.args]) {
          const problem = visit(e, bound, inLoopBody);
          if (problem) return problem;
        }
        return null;
      }
      case 'listExpr':
        for (const e of value.elements) {
          const problem = visit(e, bound, inLoopBody);
          if (problem) return problem;
        }
        return null;
      case 'structExpr':
        if (value.messageName) return at(expr.id, `message types such as "${value.messageName}" are not available in filters.`);
        for (const entry of value.entries) {
          const problem = visit(entry.keyKind.case === 'mapKey' ? entry.keyKind.value : undefined, bound, inLoopBody) ?? visit(entry.value, bound, inLoopBody);
          if (problem) return problem;
        }
        return null;
      case 'comprehensionExpr': {
        if (inLoopBody) {
          return at(expr.id, 'a macro (exists, all, map, filter, exists_one) cannot run inside another one\'s condition: its cost would grow with the square of the payload.');
        }
        const inner = new Set([...bound, value.iterVar, value.accuVar, ...(value.iterVar2 ? [value.iterVar2] : [])]);
        return (
          visit(value.iterRange, bound, false) ??
          visit(value.accuInit, bound, false) ??
          visit(value.loopCondition, inner, true) ??
          visit(value.loopStep, inner, true) ??
          visit(value.result, inner, true)
        );
      }
      default:
        return at(expr.id, 'this expression is not supported in filters.');
    }
  };
  return visit(root, new Set(), false);
}

/** Wraps every comprehension's range in the metered ITERATE call (in place). */
function guardComprehensions(expr: Expr | undefined, ids: { next: bigint }): void {
  if (!expr) return;
  const { case: kind, value } = expr.exprKind;
  const children: (Expr | undefined)[] =
    kind === 'selectExpr'
      ? [value.operand]
      : kind === 'callExpr'
        ? [value.target, ...value.args]
        : kind === 'listExpr'
          ? value.elements
          : kind === 'structExpr'
            ? value.entries.flatMap((e: any) => [e.keyKind.case === 'mapKey' ? e.keyKind.value : undefined, e.value])
            : kind === 'comprehensionExpr'
              ? [value.iterRange, value.accuInit, value.loopCondition, value.loopStep, value.result]
              : [];
  for (const child of children) guardComprehensions(child, ids);
  if (kind === 'comprehensionExpr') {
    const range = value.iterRange as Expr;
    value.iterRange = {
      $typeName: 'cel.expr.Expr',
      id: ids.next++,
      exprKind: { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: ITERATE, args: [range] } },
    };
  }
}

function maxId(expr: Expr | undefined): bigint {
  if (!expr) return 0n;
  let max = BigInt(expr.id);
  const walk = (value: unknown): void => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach(walk);
    const record = value as Record<string, unknown>;
    if ('exprKind' in record && 'id' in record && BigInt(record.id as bigint) > max) max = BigInt(record.id as bigint);
    for (const v of Object.values(record)) walk(v);
  };
  walk(expr);
  return max;
}

function syntaxProblem(source: string, err: unknown): FilterProblem {
  const e = err as { location?: { start?: { offset: number } }; found?: string | null; message?: string };
  const offset = e.location?.start?.offset ?? 0;
  const found = e.found === null || e.found === undefined ? 'the end of the expression' : JSON.stringify(e.found);
  const { line, column } = lineAndColumn(source, offset);
  return { message: `filter is not valid CEL: unexpected ${found} at line ${line}, column ${column}.`, line, column, offset };
}

function lineAndColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function describeError(err: unknown, at: Located): string {
  const e = err as { message?: string; exprId?: bigint };
  const message = (e.message ?? String(err)).slice(0, 300);
  if (e.exprId === undefined || e.exprId === null) return message;
  const where = at(BigInt(e.exprId), message);
  return `${message} (at column ${where.column})`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `an int (${value})`;
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 40))})`;
  if (typeof value === 'number') return `a double (${value})`;
  return 'a value that is not a bool';
}
