/**
 * The live-stream observer, a process of its own: a graphql-ws client subscribed to
 * `deliveryAttempts` with the console's own live-table document (every field the table shows), plus a raw LISTEN on `webhooks_attempts`
 * that yields each attempt's `recordedAtMs` (the GraphQL type does not expose it). Live latency
 * of an attempt = when its GraphQL message arrived here − when the worker recorded it, split at
 * the moment this process's own LISTEN got the notification (Postgres's part before it, the api's
 * and the socket's after it).
 */
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import type { Sql } from 'postgres';
import { openPostgres } from '../../server/db/client.js';
import { serve } from '../lib/ipc.js';
import { ATTEMPTS_SUBSCRIPTION } from '../../client/features/live/queries.js';

let client: Client | null = null;
let listener: Sql | null = null;
let unsubscribe: (() => void) | null = null;
let unlisten: (() => Promise<void>) | null = null;
let recordedAt = new Map<string, number>();
/** When this process's own LISTEN got each attempt's notification: splits the latency in two. */
let notifiedAt = new Map<string, number>();
let arrivedAt = new Map<string, number>();
let errors: string[] = [];

serve({
  async start(arg: { apiUrl: string; apiKey: string; databaseUrl: string }) {
    recordedAt = new Map();
    notifiedAt = new Map();
    arrivedAt = new Map();
    errors = [];
    listener = openPostgres(arg.databaseUrl, { max: 1, onnotice: () => {} });
    const handle = await listener.listen('webhooks_attempts', (payload) => {
      try {
        const at = Date.now();
        for (const s of JSON.parse(payload) as { id: string; recordedAtMs: number }[]) {
          recordedAt.set(s.id, s.recordedAtMs);
          notifiedAt.set(s.id, at);
        }
      } catch {
        /* not ours */
      }
    });
    unlisten = handle.unlisten;
    client = createClient({
      url: `${arg.apiUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${arg.apiKey}` },
      retryAttempts: 0,
      lazy: false,
    });
    await new Promise<void>((resolve, reject) => {
      let acked = false;
      unsubscribe = client!.subscribe<{ deliveryAttempts: { id: string } }>(
        { query: ATTEMPTS_SUBSCRIPTION },
        {
          next: (result) => {
            const id = result.data?.deliveryAttempts.id;
            if (id) arrivedAt.set(id, Date.now());
            if (result.errors?.length) errors.push(JSON.stringify(result.errors));
          },
          error: (err) => {
            errors.push(String((err as Error)?.message ?? JSON.stringify(err)));
            if (!acked) reject(new Error(`subscription failed: ${errors.at(-1)}`));
          },
          complete: () => {},
        },
      );
      client!.on('connected', () => {
        acked = true;
        // graphql-ws sends `subscribe` right after the ack; give the server a moment to register it.
        setTimeout(resolve, 300);
      });
    });
  },
  /**
   * Latencies (ms) of attempts seen both ways and recorded inside [fromMs, toMs) (the measured
   * window: the warm-up's first plans, connections and JIT stay out, as for the other figures),
   * and counts of each side.
   */
  async stop(arg: { fromMs?: number; toMs?: number } = {}) {
    const fromMs = arg.fromMs ?? -Infinity;
    const toMs = arg.toMs ?? Infinity;
    unsubscribe?.();
    await client?.dispose();
    await unlisten?.().catch(() => {});
    await listener?.end({ timeout: 2 });
    const latencies: number[] = [];
    const toNotification: number[] = [];
    const afterNotification: number[] = [];
    for (const [id, at] of arrivedAt) {
      const rec = recordedAt.get(id);
      if (rec !== undefined && rec >= fromMs && rec < toMs) {
        latencies.push(at - rec);
        toNotification.push(notifiedAt.get(id)! - rec);
        afterNotification.push(at - notifiedAt.get(id)!);
      }
    }
    // What arrived in all, and when it was recorded, so that a window with no sample says why
    // (nothing arrived, or everything fell outside the window: clocks of two processes apart).
    let firstRecordedMs: number | null = null;
    let lastRecordedMs: number | null = null;
    for (const rec of recordedAt.values()) {
      if (firstRecordedMs === null || rec < firstRecordedMs) firstRecordedMs = rec;
      if (lastRecordedMs === null || rec > lastRecordedMs) lastRecordedMs = rec;
    }
    return {
      latencies,
      toNotification,
      afterNotification,
      messages: arrivedAt.size,
      notifications: recordedAt.size,
      firstRecordedMs,
      lastRecordedMs,
      errors: errors.slice(0, 5),
    };
  },
});
