import { shouldInterruptAfterDeadline, type QuickJSContext, type QuickJSHandle, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import { envelopeBody } from '../../domain/deliveryPlan.js';
import {
  interpretTransformationOutput,
  transformationInputJson,
  type TransformationInput,
  type TransformationOutcome,
} from '../../domain/transformation.js';

/** A run's outcome; `defined` answers a check of code alone (input null). */
export type SandboxOutcome = TransformationOutcome | { kind: 'defined' };

export interface SandboxLimits {
  /** Wall-clock budget of one run (QuickJS's interrupt handler checks it as the code runs). */
  timeoutMs: number;
  memoryBytes: number;
}

/** The sandbox's stack: well below the host thread's, so QuickJS reports overflow before the host hits it. */
const MAX_STACK_BYTES = 256 * 1024;
const FILE_NAME = 'transformation.js';
/**
 * Only the language: no Proxy, no Promise (nothing would run them), no module loader, and no
 * host function at all in the global object, so no I/O, timers or clock beyond Date. (Eval is
 * what runs the code at all; inside the sandbox it is as confined as the rest.)
 */
const INTRINSICS = { BaseObjects: true, Date: true, Eval: true, JSON: true, RegExp: true, MapSet: true, TypedArrays: true, StringNormalize: true } as const;

/**
 * Runs one transformation in a fresh QuickJS runtime and context (nothing survives between runs:
 * no state shared between deliveries or endpoints), with the memory limit, a stack limit and
 * the deadline. `input` null only checks that the code defines `handler` (when it is saved).
 */
export function runInSandbox(quickjs: QuickJSWASMModule, code: string, input: TransformationInput | null, limits: SandboxLimits): SandboxOutcome {
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(MAX_STACK_BYTES);
  runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + limits.timeoutMs));
  const context = runtime.newContext({ intrinsics: INTRINSICS });
  try {
    const defined = context.evalCode(code, FILE_NAME);
    if (defined.error) return { kind: 'error', message: describeError(context, defined.error, limits) };
    defined.value.dispose();
    const kind = unwrap(context, context.evalCode('typeof handler', 'check.js'));
    if (kind !== 'function') return { kind: 'error', message: `the code must define function handler(webhook) (handler is ${kind}).` };
    if (input === null) return { kind: 'defined' };

    const inputJson = context.newString(transformationInputJson(input));
    context.setProp(context.global, '__webhookJson', inputJson);
    inputJson.dispose();
    const called = context.evalCode(
      // The result is read back as JSON: only data crosses the boundary, never a live object.
      'var __result = handler(JSON.parse(__webhookJson)); __result === undefined ? "undefined" : JSON.stringify(__result)',
      'call.js',
    );
    if (called.error) return { kind: 'error', message: describeError(context, called.error, limits) };
    const outputJson = context.getString(called.value);
    called.value.dispose();
    if (outputJson === 'undefined') return { kind: 'error', message: 'handler returned undefined; return the webhook (changed or not), or { cancel: true }.' };
    return interpretTransformationOutput(JSON.parse(outputJson), input, (dataJson) =>
      envelopeBody({ id: input.id, type: input.type, timestamp: input.timestamp, dataJson }),
    );
  } finally {
    context.dispose();
    runtime.dispose();
  }
}

function unwrap(context: QuickJSContext, result: ReturnType<QuickJSContext['evalCode']>): string {
  if (result.error) {
    result.error.dispose();
    return 'not readable';
  }
  const value = context.getString(result.value);
  result.value.dispose();
  return value;
}

/** "TypeError: x is undefined (line 3, column 12)", or what ran out. */
function describeError(context: QuickJSContext, handle: QuickJSHandle, limits: SandboxLimits): string {
  const error = context.dump(handle) as { name?: string; message?: string; stack?: string } | string | null;
  handle.dispose();
  if (error === null || typeof error !== 'object') return `handler threw ${JSON.stringify(error)?.slice(0, 200) ?? 'undefined'}`;
  if (error.name === 'InternalError' && error.message === 'interrupted') return `the transformation ran longer than ${limits.timeoutMs} ms and was stopped.`;
  if (error.message === 'out of memory') return `the transformation used more than ${Math.round(limits.memoryBytes / 1048576)} MiB of memory and was stopped.`;
  if (error.name === 'InternalError' && error.message === 'stack overflow') return 'the transformation overflowed its stack (runaway recursion?) and was stopped.';
  const where = new RegExp(`${FILE_NAME.replace('.', '\\.')}:(\\d+):(\\d+)`).exec(error.stack ?? '');
  const location = where ? ` (line ${where[1]}, column ${where[2]})` : '';
  return `${error.name ?? 'Error'}: ${(error.message ?? '').slice(0, 500)}${location}`;
}
