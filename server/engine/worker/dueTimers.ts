/**
 * When each endpoint next has something due (a retry it scheduled, a cooldown ending, a slot of
 * its rate limit freeing up, a key change): one entry per endpoint, its earliest time, in a binary
 * heap behind a single timer. A per-endpoint setTimeout with a list of remembered times cost a
 * timer object and an array per endpoint; with 100,000 endpoints holding far-off retries that is
 * memory the worker should not grow. A later time for an endpoint already armed earlier is not
 * kept: the lease at the earlier time answers with the endpoint's next due job (see the lease).
 */
export interface DueTimers {
  /** Wakes `endpointId` at `atMs` unless it is already due to wake earlier. */
  arm(endpointId: string, atMs: number): void;
  /** The endpoint's armed time, if any. */
  armedAt(endpointId: string): number | undefined;
  disarm(endpointId: string): void;
  size(): number;
  stop(): void;
}

/** setTimeout overflows past 2^31-1 ms (24.8 days) into "now": far timers are re-armed. */
const MAX_DELAY_MS = 86_400_000;
/** Entries due within this much of each other fire together. */
const COALESCE_MS = 5;

/** `onDue` gets the endpoints due now and the earliest time they were armed for. */
export function createDueTimers(onDue: (endpointIds: string[], earliestMs: number) => void): DueTimers {
  const armed = new Map<string, number>();
  // Heap of [atMs, endpointId]; an entry whose time no longer matches `armed` is stale.
  const heap: [number, string][] = [];
  let timer: NodeJS.Timeout | null = null;
  let timerAt = Infinity;
  let stopped = false;

  const less = (a: [number, string], b: [number, string]) => a[0] < b[0];
  function push(entry: [number, string]): void {
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }
  function pop(): [number, string] | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
  function dropStale(): void {
    while (heap.length > 0 && armed.get(heap[0]![1]) !== heap[0]![0]) pop();
    // Stale entries pile up when endpoints re-arm often; rebuild when they dominate.
    if (heap.length > 1024 && heap.length > 4 * armed.size) {
      heap.length = 0;
      for (const [id, at] of armed) push([at, id]);
    }
  }

  function schedule(): void {
    if (stopped) return;
    dropStale();
    const next = heap[0]?.[0] ?? Infinity;
    if (next === timerAt && timer) return;
    if (timer) clearTimeout(timer);
    timer = null;
    timerAt = next;
    if (next === Infinity) return;
    timer = setTimeout(fire, Math.min(Math.max(0, next - Date.now() + 1), MAX_DELAY_MS));
  }

  function fire(): void {
    timer = null;
    timerAt = Infinity;
    const nowMs = Date.now();
    const due: string[] = [];
    let earliestMs = Infinity;
    for (;;) {
      dropStale();
      const top = heap[0];
      if (!top || top[0] > nowMs + COALESCE_MS) break;
      pop();
      armed.delete(top[1]);
      due.push(top[1]);
      earliestMs = Math.min(earliestMs, top[0]);
    }
    schedule();
    if (due.length) onDue(due, earliestMs);
  }

  return {
    arm(endpointId, atMs) {
      if (stopped) return;
      const current = armed.get(endpointId);
      if (current !== undefined && current <= atMs) return;
      armed.set(endpointId, atMs);
      push([atMs, endpointId]);
      if (atMs < timerAt) schedule();
    },
    armedAt: (endpointId) => armed.get(endpointId),
    disarm(endpointId) {
      armed.delete(endpointId);
    },
    size: () => armed.size,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      armed.clear();
      heap.length = 0;
    },
  };
}
