import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import { CHANNELS, type AttemptSummary, type EndpointHealthChange } from '../db/notifications.js';
import { deliveries, deliveryAttempts, endpoints, type AttemptRow, type DeliveryRow, type EndpointRow } from '../db/schema.js';
import { createPubSub, type PubSubObserver, type TopicSpec } from './pubsub.js';
import { LiveRow, once } from './liveRows.js';

/**
 * The rows behind one notification batch, loaded on first need and shared by every subscriber
 * of this process: at most one query for the attempts (joined with their deliveries) and one for
 * the endpoints, however many subscribers and messages the batch has, and none when every
 * subscriber's selection stays within the notification's summary fields.
 */
export interface BatchRows {
  attempts(): Promise<Map<string, { attempt: AttemptRow; delivery: DeliveryRow | null }>>;
  endpoints(): Promise<Map<string, EndpointRow>>;
}

/** What a live subscriber will read that the notifications do not carry. */
export type LiveNeed = 'attempts' | 'endpoints';

/**
 * DeliveryAttempt and Delivery fields a live attempt answers without its stored attempt or
 * delivery row (scalars from the summary; relations through ids the summary has).
 */
export const CARRIED_ATTEMPT_FIELDS: ReadonlySet<string> = new Set([
  '__typename', 'id', 'eventType', 'attemptNumber', 'trigger', 'startedAt', 'durationMs', 'succeeded',
  'responseStatus', 'errorClass', 'errorMessage', 'delivery', 'endpoint',
]);
export const CARRIED_DELIVERY_FIELDS: ReadonlySet<string> = new Set(['__typename', 'id', 'status', 'eventType', 'event', 'endpoint', 'attempts']);

/**
 * What a `deliveryAttempts` subscription selecting `paths` (see selectedPaths) will need loaded
 * for each message, so the pubsub loads it once per batch as the batch arrives: a subscriber
 * processes its messages one after the other, and a query per message at that point would let
 * its stream fall behind. Whatever this misses still loads on demand.
 */
export function attemptStreamNeeds(paths: ReadonlySet<string>): Set<LiveNeed> {
  const needs = new Set<LiveNeed>();
  for (const path of paths) {
    const [field, sub] = path.split('.');
    if (field === 'endpoint' || (field === 'delivery' && sub === 'endpoint')) needs.add('endpoints');
    if (sub === undefined ? !CARRIED_ATTEMPT_FIELDS.has(field!) : field === 'delivery' && !CARRIED_DELIVERY_FIELDS.has(sub)) needs.add('attempts');
  }
  return needs;
}

/** What an `endpointHealth` subscription selecting `paths` needs loaded: the endpoint, if selected. */
export function healthStreamNeeds(paths: ReadonlySet<string>): Set<LiveNeed> {
  return new Set(paths.has('endpoint') ? ['endpoints'] : []);
}

/** A live attempt's delivery: its status as right after the attempt (what the `statuses` filter saw), other fields as stored, on demand. */
export class LiveDelivery extends LiveRow<DeliveryRow> {
  constructor(
    known: LiveRow<DeliveryRow>['known'],
    load: () => Promise<DeliveryRow | null>,
    /** The endpoint, from the batch's shared load. */
    readonly endpoint: () => Promise<EndpointRow | null>,
  ) {
    super(known, load, 'delivery');
  }
}

/**
 * An attempt as live subscribers receive it: the fields the worker's notification carried
 * (everything the console's live table shows), the rest of the stored row on demand, and its
 * delivery and endpoint the same way.
 */
export class LiveAttempt extends LiveRow<AttemptRow> {
  readonly delivery: LiveDelivery;
  readonly endpoint: () => Promise<EndpointRow | null>;

  constructor(
    readonly summary: AttemptSummary,
    rows: BatchRows,
  ) {
    const s = summary;
    // The org checks are belt and braces: the summary came from our own NOTIFY.
    const stored = async () => {
      const row = (await rows.attempts()).get(s.id);
      return row && row.attempt.orgId === s.orgId ? row : null;
    };
    super(
      {
        id: s.id,
        orgId: s.orgId,
        deliveryId: s.deliveryId,
        endpointId: s.endpointId,
        eventType: s.eventType,
        attemptNumber: s.attemptNumber,
        trigger: s.trigger,
        startedAt: new Date(s.startedAt),
        durationMs: s.durationMs,
        succeeded: s.succeeded,
        responseStatus: s.responseStatus,
        errorClass: s.errorClass as AttemptRow['errorClass'],
        // Absent (undefined) when the worker left a long message out: then it is loaded.
        errorMessage: s.errorMessage,
      },
      async () => (await stored())?.attempt ?? null,
      'attempt',
    );
    const endpoint = async () => {
      const row = (await rows.endpoints()).get(s.endpointId);
      return row && row.orgId === s.orgId ? row : null;
    };
    this.endpoint = endpoint;
    this.delivery = new LiveDelivery(
      { id: s.deliveryId, orgId: s.orgId, status: s.deliveryStatus, endpointId: s.endpointId, eventId: s.eventId, eventType: s.eventType },
      async () => (await stored())?.delivery ?? null,
      endpoint,
    );
  }
}

/** A breaker or enable/disable change, with the endpoint as stored (loaded on demand). */
export interface LiveHealthChange {
  change: EndpointHealthChange;
  endpoint(): Promise<EndpointRow | null>;
}

/** Endpoint rows in live attempt messages: read again in the background once this old... */
export const ENDPOINT_ROW_REFRESH_AFTER_MS = 1000;
/** ...and waited for once this old (an endpoint that had no attempts for a while). See createLiveTopics. */
export const ENDPOINT_ROW_MAX_AGE_MS = 2000;
const MAX_RECENT_ENDPOINTS = 10_000;

/**
 * Attempts (placeholder `ids`) with their deliveries (placeholder `deliveryIds`, from the same
 * notifications): naming both tables' ids lets Postgres plan only the day partitions holding
 * them (a join condition alone would plan every partition of deliveries).
 */
export function liveAttemptsQuery(database: Database) {
  return database.db
    .select({ attempt: deliveryAttempts, delivery: deliveries })
    .from(deliveryAttempts)
    .leftJoin(
      deliveries,
      and(eq(deliveries.id, deliveryAttempts.deliveryId), sql`${deliveries.id} = ANY(${sql.placeholder('deliveryIds')}::text[])`),
    )
    .where(sql`${deliveryAttempts.id} = ANY(${sql.placeholder('ids')}::text[])`);
}

/** The service's two live topics, over one database's pools. */
export function createLiveTopics(database: Database, observer?: PubSubObserver) {
  // Drizzle prepared queries: built once, not per batch (building them cost ~0.7 ms of CPU per
  // batch, more than running them).
  const attemptsByIds = liveAttemptsQuery(database).prepare('live_attempts_by_ids');
  const endpointsByIds = database.db
    .select()
    .from(endpoints)
    .where(sql`${endpoints.id} = ANY(${sql.placeholder('ids')}::text[])`)
    .prepare('live_endpoints_by_ids');
  // Endpoint rows read for live messages, by id, with when they were read. The console's table
  // shows each attempt's endpoint URL, and a query on a message's way to the browser holds up
  // every message behind it (the pubsub loads one batch at a time): under load that query is the
  // slowest step of the path. So attempt messages use the row already read and, once it is
  // ENDPOINT_ROW_REFRESH_AFTER_MS old, read it again in the background for the messages after
  // them: with attempts flowing, rows stay about a second old and no message waits. A row past
  // ENDPOINT_ROW_MAX_AGE_MS (or none) is waited for. Health changes, which are about the row
  // itself, always wait for a fresh read, and what they read serves attempts too.
  const recentEndpoints = new Map<string, { row: EndpointRow; readAtMs: number }>();
  const refreshing = new Set<string>();
  const readEndpoints = async (ids: string[]): Promise<EndpointRow[]> => {
    observer?.rowsLoaded?.('endpoints');
    const readAtMs = Date.now();
    const read = await endpointsByIds.execute({ ids });
    if (recentEndpoints.size + read.length > MAX_RECENT_ENDPOINTS) recentEndpoints.clear();
    for (const row of read) {
      const recent = recentEndpoints.get(row.id);
      // A slower read that started earlier must not replace a newer row.
      if (!recent || recent.readAtMs <= readAtMs) recentEndpoints.set(row.id, { row, readAtMs });
    }
    return read;
  };
  const refreshInBackground = (ids: string[]): void => {
    const due = ids.filter((id) => !refreshing.has(id));
    if (due.length === 0) return;
    for (const id of due) refreshing.add(id);
    readEndpoints(due)
      // Harmless: the rows stay as they were, and the next message tries again.
      .catch(() => {})
      .finally(() => {
        for (const id of due) refreshing.delete(id);
      });
  };
  /** Endpoint rows for attempt messages: what is known now, waiting only for rows too old or never read. */
  const endpointsForAttempts = (ids: string[]) =>
    once(async () => {
      const nowMs = Date.now();
      const rows = new Map<string, EndpointRow>();
      const missing: string[] = [];
      const ageing: string[] = [];
      for (const id of new Set(ids)) {
        const recent = recentEndpoints.get(id);
        const age = recent ? nowMs - recent.readAtMs : Infinity;
        if (age > ENDPOINT_ROW_MAX_AGE_MS) missing.push(id);
        else {
          rows.set(id, recent!.row);
          if (age > ENDPOINT_ROW_REFRESH_AFTER_MS) ageing.push(id);
        }
      }
      refreshInBackground(ageing);
      if (missing.length) for (const row of await readEndpoints(missing)) rows.set(row.id, row);
      return rows;
    });
  /** Endpoint rows read now, for health changes. */
  const freshEndpoints = (ids: string[]) => once(async () => new Map((await readEndpoints([...new Set(ids)])).map((row) => [row.id, row])));

  const attempts: TopicSpec<AttemptSummary, LiveAttempt> = {
    channel: CHANNELS.attempts,
    async load(summaries, needs) {
      const rows: BatchRows = {
        attempts: once(async () => {
          observer?.rowsLoaded?.('attempts');
          const loaded = await attemptsByIds.execute({ ids: summaries.map((s) => s.id), deliveryIds: [...new Set(summaries.map((s) => s.deliveryId))] });
          return new Map(loaded.map((r) => [r.attempt.id, r]));
        }),
        endpoints: endpointsForAttempts(summaries.map((s) => s.endpointId)),
      };
      await Promise.all([needs.has('attempts') && rows.attempts(), needs.has('endpoints') && rows.endpoints()]);
      return summaries.map((summary) => new LiveAttempt(summary, rows));
    },
  };

  const endpointHealth: TopicSpec<EndpointHealthChange, LiveHealthChange> = {
    channel: CHANNELS.endpointHealth,
    async load(changes, needs) {
      const rows = freshEndpoints(changes.map((c) => c.endpointId));
      if (needs.has('endpoints')) await rows();
      return changes.map((change) => ({
        change,
        async endpoint() {
          const endpoint = (await rows()).get(change.endpointId);
          return endpoint && endpoint.orgId === change.orgId ? endpoint : null;
        },
      }));
    },
  };

  return { attempts, endpointHealth };
}

/** The pubsub of an api process: `attempts` and `endpointHealth`. */
export function createLivePubSub(deps: { database: Database; log: Logger; observer?: PubSubObserver; healthCheckMs?: number }) {
  return createPubSub({
    sql: deps.database.sql,
    log: deps.log,
    topics: createLiveTopics(deps.database, deps.observer),
    observer: deps.observer,
    healthCheckMs: deps.healthCheckMs,
  });
}
export type LivePubSub = ReturnType<typeof createLivePubSub>;
