/**
 * Static inspection of a parsed content filter (domain/contentFilter.ts), before it is planned: the
 * names, nesting, regexes and size it may use; the rewrite that meters comprehension ranges; and
 * where in the source a problem lies.
 */
import type { FilterProblem } from './contentFilter.js';
import { compiledPattern, ITERATE, KNOWN_FUNCTIONS } from './contentFilterFunctions.js';
import { FILTER_LIMITS, FILTER_VARIABLES } from './contentFilterLimits.js';

/** The parsed expression tree as @bufbuild/cel produces it (protobuf messages, walked structurally). */
export interface Expr {
  id: bigint;
  exprKind: { case: string | undefined; value: any };
}

export type Located = (id: bigint, message: string) => FilterProblem;

/** The first problem of the expression tree (unknown names, nesting, regexes, size), or null. */
export function inspect(root: Expr, at: Located): FilterProblem | null {
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
export function guardComprehensions(expr: Expr | undefined, ids: { next: bigint }): void {
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

export function maxId(expr: Expr | undefined): bigint {
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

export function syntaxProblem(source: string, err: unknown): FilterProblem {
  const e = err as { location?: { start?: { offset: number } }; found?: string | null; message?: string };
  const offset = e.location?.start?.offset ?? 0;
  const found = e.found === null || e.found === undefined ? 'the end of the expression' : JSON.stringify(e.found);
  const { line, column } = lineAndColumn(source, offset);
  return { message: `filter is not valid CEL: unexpected ${found} at line ${line}, column ${column}.`, line, column, offset };
}

export function lineAndColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}
