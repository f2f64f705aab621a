import { Worker } from 'node:worker_threads';
import type { TransformationInput } from '../../domain/transformation.js';
import type { SandboxOutcome } from './sandbox.js';
import type { SandboxReply, SandboxRequest, SandboxThreadData } from './sandboxThread.js';

export interface TransformPoolOptions {
  /** Threads running transformations (started on first use). */
  threads: number;
  /** CPU deadline of one run (wall clock inside the sandbox). */
  timeoutMs: number;
  /** QuickJS heap limit of one run. */
  memoryBytes: number;
  /**
   * Extra time before a thread that does not answer is terminated and replaced: the deadline is
   * checked by QuickJS itself, so this only catches a sandbox stuck outside its interpreter loop.
   */
  graceMs?: number;
}

interface Task {
  key: string;
  code: string;
  input: TransformationInput | null;
  resolve: (result: { outcome: SandboxOutcome; durationMs: number }) => void;
}

interface Slot {
  worker: Worker;
  /** The thread loaded its QuickJS module (runs are timed from then on). */
  ready: boolean;
  task: (Task & { id: number; timer: NodeJS.Timeout }) | null;
}

/**
 * Runs transformations off the event loop, on a few worker threads, one run per thread at a
 * time. Fair between keys (endpoints; `test:<org>` for test runs): queued runs are taken round
 * robin by key, and one key never holds more than half the threads, so an endpoint whose
 * transformation loops until its deadline delays only its own deliveries. Endpoints without a
 * transformation never come here.
 */
export function createTransformPool(options: TransformPoolOptions) {
  const graceMs = options.graceMs ?? 1_000;
  const perKey = Math.max(1, Math.floor(options.threads / 2));
  const slots: Slot[] = [];
  /** Queued runs by key; `order` is the round-robin order of keys with queued runs. */
  const queues = new Map<string, Task[]>();
  const order: string[] = [];
  const running = new Map<string, number>();
  let nextId = 1;
  let stopped = false;
  let restarts = 0;

  function spawn(): Slot {
    const [entry, entryOptions] = threadEntry();
    const worker = new Worker(entry, {
      ...entryOptions,
      workerData: { memoryBytes: options.memoryBytes } satisfies SandboxThreadData,
      // The thread's own JS heap (QuickJS lives in a WebAssembly memory capped per run).
      resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
    const slot: Slot = { worker, ready: false, task: null };
    worker.on('message', (reply: SandboxReply | { ready: true }) => {
      if ('ready' in reply) {
        slot.ready = true;
        pump();
        return;
      }
      const task = slot.task;
      if (!task || task.id !== reply.id) return;
      finish(slot, { outcome: reply.outcome, durationMs: reply.durationMs });
    });
    worker.on('error', (err) => replace(slot, `the transformation sandbox failed (${err.message.slice(0, 200)})`));
    worker.on('exit', () => replace(slot, 'the transformation sandbox exited'));
    return slot;
  }

  function replace(slot: Slot, reason: string): void {
    const index = slots.indexOf(slot);
    if (index === -1) return;
    slots.splice(index, 1);
    const task = slot.task;
    slot.task = null;
    void slot.worker.terminate().catch(() => {});
    if (task) {
      clearTimeout(task.timer);
      release(task.key);
      task.resolve({ outcome: { kind: 'error', message: `${reason}; it was restarted.` }, durationMs: 0 });
    }
    if (!stopped) {
      restarts++;
      slots.push(spawn());
      pump();
    }
  }

  function finish(slot: Slot, result: { outcome: SandboxOutcome; durationMs: number }): void {
    const task = slot.task!;
    clearTimeout(task.timer);
    slot.task = null;
    release(task.key);
    task.resolve(result);
    pump();
  }

  function release(key: string): void {
    const n = (running.get(key) ?? 1) - 1;
    if (n === 0) running.delete(key);
    else running.set(key, n);
  }

  /** Hands queued runs to idle threads, round robin by key, within each key's share. */
  function pump(): void {
    assign();
    // A thread with work (or starting for it) keeps the process alive; an idle one does not.
    for (const s of slots) {
      if (s.task || !s.ready) s.worker.ref();
      else s.worker.unref();
    }
  }

  function assign(): void {
    while (!stopped) {
      const index = order.findIndex((key) => (running.get(key) ?? 0) < perKey);
      if (index === -1) return;
      const idle = slots.find((s) => s.ready && s.task === null);
      if (!idle) {
        // All threads start with the first run (each pumps again once ready).
        while (slots.length < options.threads) slots.push(spawn());
        return;
      }
      const key = order[index]!;
      const queue = queues.get(key)!;
      const task = queue.shift()!;
      order.splice(index, 1);
      if (queue.length > 0) order.push(key);
      else queues.delete(key);
      running.set(key, (running.get(key) ?? 0) + 1);
      const id = nextId++;
      const timer = setTimeout(
        () => replace(idle, `the transformation did not finish within ${options.timeoutMs + graceMs} ms`),
        options.timeoutMs + graceMs,
      );
      idle.task = { ...task, id, timer };
      const request: SandboxRequest = {
        id,
        code: task.code,
        input: task.input,
        limits: { timeoutMs: options.timeoutMs, memoryBytes: options.memoryBytes },
      };
      idle.worker.postMessage(request);
    }
  }

  return {
    /** Runs `code` on `input` (null: only checks that it defines handler) for `key`. */
    run(key: string, code: string, input: TransformationInput | null): Promise<{ outcome: SandboxOutcome; durationMs: number }> {
      if (stopped) return Promise.resolve({ outcome: { kind: 'error', message: 'the transformation sandbox is shutting down.' }, durationMs: 0 });
      return new Promise((resolve) => {
        let queue = queues.get(key);
        if (!queue) {
          queues.set(key, (queue = []));
          order.push(key);
        }
        queue.push({ key, code, input, resolve });
        pump();
      });
    },
    stats: () => ({ threads: slots.length, busy: slots.filter((s) => s.task).length, queued: [...queues.values()].reduce((n, q) => n + q.length, 0), restarts }),
    async stop(): Promise<void> {
      stopped = true;
      for (const queue of queues.values()) {
        for (const task of queue) task.resolve({ outcome: { kind: 'error', message: 'the transformation sandbox is shutting down.' }, durationMs: 0 });
      }
      queues.clear();
      order.length = 0;
      const all = slots.splice(0);
      for (const slot of all) {
        if (slot.task) {
          clearTimeout(slot.task.timer);
          slot.task.resolve({ outcome: { kind: 'error', message: 'the transformation sandbox is shutting down.' }, durationMs: 0 });
        }
      }
      await Promise.all(all.map((s) => s.worker.terminate().catch(() => {})));
    },
  };
}
export type TransformPool = ReturnType<typeof createTransformPool>;

/**
 * The thread's entry. Compiled, it is sandboxThread.js next to this file. From TypeScript
 * sources (tsx, vitest) loader flags do not reach a worker's entry module, so a one-line ESM
 * entry registers tsx in the thread and then imports the .ts file.
 */
function threadEntry(): [URL | string, { eval?: boolean }] {
  if (!import.meta.url.endsWith('.ts')) return [new URL('./sandboxThread.js', import.meta.url), {}];
  const tsx = import.meta.resolve('tsx/esm/api');
  const file = new URL('./sandboxThread.ts', import.meta.url).href;
  return [`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); })`, { eval: true }];
}
