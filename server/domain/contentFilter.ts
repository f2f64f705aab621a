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
import { celList, celMap, isCelError, parse, plan } from '@bufbuild/cel';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { env, resetMeter } from './contentFilterFunctions.js';
import { guardComprehensions, inspect, lineAndColumn, maxId, syntaxProblem, type Expr, type Located } from './contentFilterInspection.js';
import { FILTER_LIMITS } from './contentFilterLimits.js';

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
        resetMeter();
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
