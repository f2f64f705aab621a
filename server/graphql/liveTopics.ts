import type { Sql } from 'postgres';
import type { Logger } from '../logger.js';
import { CHANNELS, type AttemptSummary, type EndpointHealthChange } from '../db/notifications.js';
import type { AttemptRow, DeliveryRow, EndpointRow } from '../db/schema.js';
import type { LiveRowsService } from '../services/liveRows.js';
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

export { ENDPOINT_ROW_MAX_AGE_MS, ENDPOINT_ROW_REFRESH_AFTER_MS } from '../services/liveRows.js';

/** The service's two live topics, loading their rows through `rows` (services/liveRows.ts). */
export function createLiveTopics(rows: LiveRowsService) {
  const attempts: TopicSpec<AttemptSummary, LiveAttempt> = {
    channel: CHANNELS.attempts,
    async load(summaries, needs) {
      const batch: BatchRows = {
        attempts: once(() => rows.attempts(summaries.map((s) => s.id), summaries.map((s) => s.deliveryId))),
        endpoints: once(() => rows.endpointsForAttempts(summaries.map((s) => s.endpointId))),
      };
      await Promise.all([needs.has('attempts') && batch.attempts(), needs.has('endpoints') && batch.endpoints()]);
      return summaries.map((summary) => new LiveAttempt(summary, batch));
    },
  };

  const endpointHealth: TopicSpec<EndpointHealthChange, LiveHealthChange> = {
    channel: CHANNELS.endpointHealth,
    async load(changes, needs) {
      const fresh = once(() => rows.freshEndpoints(changes.map((c) => c.endpointId)));
      if (needs.has('endpoints')) await fresh();
      return changes.map((change) => ({
        change,
        async endpoint() {
          const endpoint = (await fresh()).get(change.endpointId);
          return endpoint && endpoint.orgId === change.orgId ? endpoint : null;
        },
      }));
    },
  };

  return { attempts, endpointHealth };
}

/** The pubsub of an api process: `attempts` and `endpointHealth`. */
export function createLivePubSub(deps: { sql: Sql; rows: LiveRowsService; log: Logger; observer?: PubSubObserver; healthCheckMs?: number }) {
  return createPubSub({
    sql: deps.sql,
    log: deps.log,
    topics: createLiveTopics(deps.rows),
    observer: deps.observer,
    healthCheckMs: deps.healthCheckMs,
  });
}
export type LivePubSub = ReturnType<typeof createLivePubSub>;
