import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last major GC before it
 * collects again. Left alone, V8 picks up to 4× when collection is cheap next to the program's
 * own work, which is exactly a delivery worker's profile: a live set of 35–60 MB (in-flight
 * deliveries, the recorder's batch, runtimes) and a steady stream of short-lived objects that
 * outlive two scavenges (a request waiting on its receiver), so the heap climbed to ~235 MB and
 * the process to ~400 MB before each mark-compact, the Buffers those dead objects held waiting
 * with them (docs/operations.md, "Worker memory"). The growth factor is read at every GC, so
 * setting it at start-up takes effect like the command-line flag, without operators passing V8
 * flags (Node refuses this one in NODE_OPTIONS). A `--heap-growing-percent` on the operator's
 * command line wins.
 */
export const HEAP_GROWTH_FLAG = '--heap-growing-percent';

export type HeapPolicyOutcome = 'applied' | 'disabled' | 'operator-flag';

export function applyHeapGrowthPolicy(growthPercent: number, execArgv: readonly string[] = process.execArgv): HeapPolicyOutcome {
  if (growthPercent <= 0) return 'disabled';
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return 'operator-flag';
  v8.setFlagsFromString(`${HEAP_GROWTH_FLAG}=${Math.trunc(growthPercent)}`);
  return 'applied';
}
