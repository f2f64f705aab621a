import { Piscina } from 'piscina';
import type { ValidationTask } from './worker.js';

/**
 * JSON Schema validation of published payloads, off the event loop: a worker thread (piscina)
 * runs it, so a costly schema or payload delays only the publish that sent it, never other
 * organizations' requests and deliveries. Each publish may spend `budgetMs` there; past it the
 * thread is terminated (piscina does so on abort) and the publish refused. Regular expressions
 * run on RE2 (linear time) inside; the thread is the hard bound on top.
 */
export function createPayloadValidationPool(options: { budgetMs: number; threads?: number }) {
  const pool = new Piscina({
    filename: threadEntry(),
    minThreads: 0,
    maxThreads: options.threads ?? 1,
    // Unused threads end after a minute: most deployments publish to schema-less types.
    idleTimeout: 60_000,
  });
  // Starting a thread (and loading the validator into it) is not the publish's work: it happens
  // outside the budget, once, before the first task (and again after a thread was terminated).
  let ready: Promise<unknown> | null = null;
  const warm = () => (ready ??= pool.run({ schemas: [], items: [] } satisfies ValidationTask).catch(() => (ready = null)));
  return {
    /** The problem with each item (null: valid), or `'budget'` when the publish ran out of time. */
    async validate(task: ValidationTask): Promise<(string | null)[] | 'budget'> {
      // An idle thread ends after a minute: the next task starts one, outside the budget too.
      if (pool.threads.length === 0) ready = null;
      await warm();
      try {
        return (await pool.run(task, { signal: AbortSignal.timeout(options.budgetMs) })) as (string | null)[];
      } catch (err) {
        if ((err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError') {
          ready = null;
          return 'budget';
        }
        throw err;
      }
    },
    close: () => pool.destroy(),
  };
}
export type PayloadValidationPool = ReturnType<typeof createPayloadValidationPool>;

/**
 * The thread's module. Compiled (npm start), it is worker.js next to this file. From TypeScript
 * sources (tsx, vitest) a worker thread starts without the parent's loader hooks, so entry.mjs
 * registers tsx first and then loads worker.ts.
 */
function threadEntry(): string {
  return new URL(import.meta.url.endsWith('.ts') ? './entry.mjs' : './worker.js', import.meta.url).href;
}
