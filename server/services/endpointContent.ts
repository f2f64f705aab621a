import type { endpoints } from '../db/schema.js';
import { compileFilter, type FilterProblem } from '../domain/contentFilter.js';
import type { InputProblem } from '../domain/errors.js';
import { badInput } from '../domain/errors.js';
import { checkTransformationSource, TRANSFORMATION_LIMITS, type TransformationOutcome } from '../domain/transformation.js';
import { newId } from '../crypto/random.js';
import type { Engine } from '../engine/index.js';
import type { Viewer } from './auth.js';

type EndpointValues = Partial<typeof endpoints.$inferInsert>;

/** The content settings of CreateEndpointInput / UpdateEndpointInput (absent: unchanged). */
export interface EndpointContentInput {
  filter?: string | null;
  transformation?: string | null;
}

export interface TransformationTestResult {
  outcome: TransformationOutcome;
  durationMs: number;
}

/**
 * An endpoint's content filter and transformation: validation, the columns they set, and the
 * checks the console runs as the user types (validateFilter, testTransformation).
 */
export function createEndpointContentService(deps: { engine: Engine }) {
  const { engine } = deps;

  /** Checks transformation code in the sandbox (it must define handler); null when fine. */
  async function transformationProblem(key: string, code: string): Promise<InputProblem | null> {
    const early = checkTransformationSource(code);
    if (early) return { field: 'transformation', message: early };
    const { outcome } = await engine.transforms.run(key, code, null);
    if (outcome.kind === 'defined') return null;
    const message = outcome.kind === 'error' ? outcome.message : 'the code could not be checked.';
    const at = /\(line (\d+), column (\d+)\)/.exec(message);
    return {
      field: 'transformation',
      message: `transformation is not valid: ${message}`,
      ...(at ? { position: { line: Number(at[1]), column: Number(at[2]) } } : {}),
    };
  }

  return {
    /**
     * Validates the filter and transformation present in `input` and returns the columns to set:
     * null or blank removes either. Pass them through `changedColumns` before writing.
     */
    async check(viewer: Viewer, input: EndpointContentInput): Promise<{ columns: EndpointValues; problems: InputProblem[] }> {
      const columns: EndpointValues = {};
      const problems: InputProblem[] = [];
      if (input.filter !== undefined) {
        const filter = input.filter === null || input.filter.trim() === '' ? null : input.filter;
        if (filter !== null) {
          const compiled = compileFilter(filter);
          if (!compiled.ok) problems.push(filterProblem(compiled.problem));
        }
        columns.filter = filter;
      }
      if (input.transformation !== undefined) {
        const code = input.transformation === null || input.transformation.trim() === '' ? null : input.transformation;
        if (code !== null) {
          const problem = await transformationProblem(`check:${viewer.orgId}`, code);
          if (problem) problems.push(problem);
        }
        columns.transformation = code;
      }
      return { columns, problems };
    },

    /** `columns` for an endpoint now as `current` (null: a new one): a changed filter starts with a clean error count. */
    changedColumns(current: { filter: string | null } | null, columns: EndpointValues): EndpointValues {
      if (columns.filter === undefined || (current !== null && columns.filter === current.filter)) return columns;
      return { ...columns, filterErrorCount: 0, filterLastError: null, filterLastErrorAt: null };
    },

    /** Whether `expression` is a valid filter, and where it is not (the console checks as the user types). */
    validateFilter(expression: string): { valid: boolean; message: string | null; position: { line: number; column: number } | null } {
      const compiled = compileFilter(expression);
      if (compiled.ok) return { valid: true, message: null, position: null };
      return { valid: false, message: compiled.problem.message, position: { line: compiled.problem.line, column: compiled.problem.column } };
    },

    /**
     * Runs `code` on an event of `type` with `data` as a delivery would (a made-up event id, now as
     * the timestamp, no custom headers unless given) and answers what would be sent.
     */
    async testTransformation(viewer: Viewer, code: string, type: string, data: unknown, headers: Record<string, string> = {}): Promise<TransformationTestResult> {
      const early = checkTransformationSource(code);
      if (early) throw badInput(early, 'code');
      if (typeof data !== 'object' || data === null || Array.isArray(data)) throw badInput('data must be a JSON object, like a published event\'s data.', 'data');
      const dataJson = JSON.stringify(data);
      if (Buffer.byteLength(dataJson) > TRANSFORMATION_LIMITS.bodyBytes) throw badInput(`data is larger than ${TRANSFORMATION_LIMITS.bodyBytes} bytes.`, 'data');
      // Test runs of an organization queue under one key: they never hold more than their share.
      const { outcome, durationMs } = await engine.transforms.run(`test:${viewer.orgId}`, code, {
        id: newId('event'),
        type,
        timestamp: new Date().toISOString(),
        dataJson,
        headers,
      });
      return { outcome: outcome.kind === 'defined' ? { kind: 'error', message: 'the sandbox did not run the handler.' } : outcome, durationMs };
    },
  };
}
export type EndpointContentService = ReturnType<typeof createEndpointContentService>;

function filterProblem(problem: FilterProblem): InputProblem {
  return { field: 'filter', message: problem.message, position: { line: problem.line, column: problem.column } };
}
