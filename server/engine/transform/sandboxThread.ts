/**
 * A transformation thread (worker_threads): one QuickJS WebAssembly module, one run at a time.
 * Messages: { id, code, input, limits } in, { id, outcome } out. If the module itself breaks (a
 * WebAssembly trap), the run fails with that message and a fresh module is loaded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSSyncVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import type { TransformationInput } from '../../domain/transformation.js';
import { runInSandbox, type SandboxLimits, type SandboxOutcome } from './sandbox.js';

export interface SandboxRequest {
  id: number;
  code: string;
  input: TransformationInput | null;
  limits: SandboxLimits;
}

export interface SandboxReply {
  id: number;
  outcome: SandboxOutcome;
  durationMs: number;
}

export interface SandboxThreadData {
  /** The per-run QuickJS heap limit; the thread's WebAssembly memory is capped a little above it. */
  memoryBytes: number;
}

const PAGE = 65_536;
/** The module's own initial memory (16 MiB): stack, static data, allocator. */
const BASE_PAGES = 256;

/**
 * A loaded module, warmed by a few runs (the first runs of a fresh WebAssembly module are several
 * times slower). Its memory has a hard maximum: QuickJS's own accounting misses some allocations
 * in this build, so a run that allocates past the cap fails with "out of memory" instead of
 * growing the thread without bound (WebAssembly memory never shrinks).
 */
async function loadModule(): Promise<QuickJSWASMModule> {
  const { memoryBytes } = workerData as SandboxThreadData;
  const wasmMemory = new WebAssembly.Memory({ initial: BASE_PAGES, maximum: BASE_PAGES + Math.ceil((memoryBytes * 1.5) / PAGE) });
  const module = await newQuickJSWASMModuleFromVariant(newVariant(variant as unknown as QuickJSSyncVariant, { wasmMemory }) as QuickJSSyncVariant);
  const input = { id: 'evt_warmup', type: 'warmup', timestamp: new Date(0).toISOString(), dataJson: '{"n":1}', headers: {} };
  for (let i = 0; i < 20; i++) runInSandbox(module, 'function handler(w) { w.data.n++; return w; }', input, { timeoutMs: 5_000, memoryBytes });
  return module;
}

let quickjs: Promise<QuickJSWASMModule> = loadModule();
void quickjs.then(() => parentPort!.postMessage({ ready: true }));

parentPort!.on('message', async (request: SandboxRequest) => {
  const started = performance.now();
  let outcome: SandboxOutcome;
  try {
    outcome = runInSandbox(await quickjs, request.code, request.input, request.limits);
  } catch (err) {
    quickjs = loadModule();
    outcome = { kind: 'error', message: `the transformation broke the sandbox (${(err as Error).message.slice(0, 200)}) and was stopped.` };
  }
  const reply: SandboxReply = { id: request.id, outcome, durationMs: performance.now() - started };
  parentPort!.postMessage(reply);
});
