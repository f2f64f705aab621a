import type { Sql } from 'postgres';
import { compileFilter, filterActivation, type CompiledFilter, type FilterActivation } from '../../domain/contentFilter.js';

/** An event as publishing holds it, for the filter hook. */
export interface FilterableEvent {
  type: string;
  data: Record<string, unknown>;
  orderingKey: string | null;
  /** An operational event about this endpoint never goes to it (see systemEvents.ts). */
  excludeEndpointId?: string | null;
}

/** The publish hook: true when the event may reach the endpoint (its filter is true). */
export type EventAcceptor = (event: FilterableEvent, publishedAtMs: number) => boolean;

/** Compiled filters kept per process (by expression text: endpoints sharing one share it). */
const MAX_COMPILED = 20_000;
/** Endpoints whose errors wait for the next flush; beyond this, new ones wait for that flush. */
const MAX_PENDING_ENDPOINTS = 10_000;
export const FILTER_ERROR_FLUSH_MS = 5_000;

interface PendingErrors {
  filter: string;
  count: number;
  message: string;
  atMs: number;
}

/**
 * Content filters for publishing: compiled once per expression (the publish catalog, cached per
 * organization and catalog_version, holds the acceptors), evaluated per (event, endpoint).
 *
 * A failed evaluation counts as "no match" and is shown on the endpoint (filterErrorCount,
 * filterLastError). Counting it with an UPDATE of the endpoint row per failing event would turn
 * a filter that fails on every event into a row update per publish on a hot row; instead errors
 * are added up in memory and written every few seconds, one statement for all endpoints (only
 * while the endpoint still has the filter that failed).
 */
export function createEndpointFilters(deps: { sql: Sql; onFlushError?: (err: unknown) => void; flushIntervalMs?: number }) {
  const compiled = new Map<string, CompiledFilter>();
  const pending = new Map<string, PendingErrors>();
  // The activation of the event being fanned out: publishing evaluates every endpoint's filter
  // for one event before the next event, so one slot is enough.
  let lastEvent: FilterableEvent | null = null;
  let lastActivation: FilterActivation | null = null;
  let timer: NodeJS.Timeout | null = null;
  let flushing: Promise<void> | null = null;

  function compiledFor(source: string): CompiledFilter | null {
    let filter = compiled.get(source);
    if (!filter) {
      const result = compileFilter(source);
      // Stored filters were validated when set; one that no longer compiles (a library change)
      // matches nothing, and says so on the endpoint.
      if (!result.ok) return null;
      filter = result.filter;
      if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
      compiled.set(source, filter);
    }
    return filter;
  }

  function recordError(endpointId: string, filter: string, message: string): void {
    const entry = pending.get(endpointId);
    if (entry && entry.filter === filter) {
      entry.count++;
      entry.message = message;
      entry.atMs = Date.now();
    } else if (pending.size < MAX_PENDING_ENDPOINTS || entry) {
      pending.set(endpointId, { filter, count: 1, message, atMs: Date.now() });
    }
    if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        void flush();
      }, deps.flushIntervalMs ?? FILTER_ERROR_FLUSH_MS);
      timer.unref();
    }
  }

  async function write(batch: [string, PendingErrors][]): Promise<void> {
    const rows = batch.map(([id, e]) => ({ id, filter: e.filter, n: e.count, message: e.message.slice(0, 1000), at: new Date(e.atMs).toISOString() }));
    // Rows are locked in id order, like every other writer of several endpoint rows (recorder).
    await deps.sql`
      WITH x AS (SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) AS x(id text, filter text, n bigint, message text, at timestamptz)),
           locked AS (SELECT e.id FROM endpoints e JOIN x ON x.id = e.id AND x.filter = e.filter ORDER BY e.id FOR UPDATE OF e)
      UPDATE endpoints e SET filter_error_count = e.filter_error_count + x.n, filter_last_error = x.message, filter_last_error_at = x.at
      FROM x WHERE e.id = x.id AND e.id IN (SELECT id FROM locked)`;
  }

  /** Writes the errors counted so far. */
  async function flush(): Promise<void> {
    if (flushing) await flushing;
    if (pending.size === 0) return;
    const batch = [...pending];
    pending.clear();
    flushing = write(batch)
      .catch((err) => {
        // Put them back (merged with what came meanwhile): the next flush tries again.
        for (const [id, e] of batch) {
          const now = pending.get(id);
          if (!now) pending.set(id, e);
          else if (now.filter === e.filter) now.count += e.count;
        }
        deps.onFlushError?.(err);
      })
      .finally(() => {
        flushing = null;
      });
    await flushing;
  }

  return {
    /** The publish hook for an endpoint's filter, or undefined when it has none. */
    acceptorFor(endpointId: string, source: string | null): EventAcceptor | undefined {
      if (source === null) return undefined;
      const filter = compiledFor(source);
      return (event, publishedAtMs) => {
        if (!filter) {
          recordError(endpointId, source, 'the stored filter no longer compiles; set it again.');
          return false;
        }
        if (event !== lastEvent) {
          lastEvent = event;
          lastActivation = filterActivation({ type: event.type, data: event.data, orderingKey: event.orderingKey, timestampMs: publishedAtMs });
        }
        const result = filter.evaluate(lastActivation!);
        if (result.error !== null) recordError(endpointId, source, result.error);
        return result.matched;
      };
    },
    flush,
    /** Errors counted but not yet written (tests, metrics). */
    pendingCount: () => pending.size,
    async stop(): Promise<void> {
      if (timer) clearTimeout(timer);
      timer = null;
      await flush();
    },
  };
}
export type EndpointFilters = ReturnType<typeof createEndpointFilters>;
