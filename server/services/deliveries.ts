import type { Database } from '../db/client.js';
import { createDeliveriesRepo, type DeliveryFilter } from '../db/repos/deliveries.js';
import { createEventsRepo, type EventFilter } from '../db/repos/events.js';
import type { PageArgs } from '../domain/pages.js';
import { badInput, notFound } from '../domain/errors.js';
import { envelopeBody } from '../domain/deliveryPlan.js';
import { roleCan } from '../domain/roles.js';
import { DAY_MS } from '../domain/historyPartitions.js';
import { idTimeMs } from '../domain/ids.js';
import type { Engine } from '../engine/index.js';
import type { PublishInput } from '../engine/publish.js';
import type { ReplayFilter } from '../engine/recovery.js';
import type { Viewer } from './auth.js';
import type { EventTypeService } from './eventTypes.js';
import type { EndpointScope } from './endpointScope.js';
import { createEndpointRefs } from './endpointRefs.js';

/** Events, deliveries and attempts for the caller's organization, and the commands on them. */
export function createDeliveryService(deps: {
  database: Database;
  engine: Engine;
  eventTypes: Pick<EventTypeService, 'checkTestEvent'>;
  scope: EndpointScope;
  retentionDays: number;
  historyRetentionDays: number;
}) {
  const history = { historyRetentionDays: deps.historyRetentionDays };
  const events = createEventsRepo(deps.database.db, history);
  const deliveries = createDeliveriesRepo(deps.database.db, history);
  const { engine, scope } = deps;
  const endpointRefs = createEndpointRefs(deps.database.db, scope);

  /** A delivery the viewer may see (its endpoint in the viewer's label scope), else NOT_FOUND. */
  async function visibleDelivery(viewer: Viewer, id: string) {
    const row = await deliveries.findForOrg(viewer.orgId, id);
    if (!row || !(await scope.seesId(viewer, row.endpointId))) throw notFound('delivery', id);
    return row;
  }

  /**
   * The oldest delivery a replay brings back: newer than the payload retention (older ones have
   * no payload left to send), and at least a day short of history retention (so a partition
   * being dropped never gains a pending delivery behind maintenance's back). This bound also
   * keeps the replay statement to the partitions of that window.
   */
  function revivableFromMs(nowMs: number): number {
    return Math.max(nowMs - deps.retentionDays * DAY_MS, nowMs - (deps.historyRetentionDays - 1) * DAY_MS);
  }

  function checkWindow(filter: { since?: Date | null; until?: Date | null }): void {
    if (filter.since && filter.until && filter.since >= filter.until) throw badInput('"since" must be before "until".', 'filter.since');
  }

  return {
    repos: { events, deliveries },

    /** `traceparent`: the request's W3C header, the trace of events that bring none of their own. */
    publish: (viewer: Viewer, inputs: PublishInput[], batch: boolean, traceparent: string | null = null) =>
      engine.publisher.publish(viewer.orgId, inputs, batch ? (i) => `inputs[${i}].` : () => 'input.', undefined, { traceparent }),

    async listEvents(viewer: Viewer, filter: EventFilter, page: PageArgs) {
      checkWindow(filter);
      // Viewers get null payloads: 500 events of 256 KiB are not read for them.
      return events.list(viewer.orgId, { ...filter, deliveredTo: await scope.visibleIds(viewer) }, page, { withPayload: roleCan(viewer.role, 'readPayload') });
    },
    async getEvent(viewer: Viewer, id: string) {
      const row = await events.findForOrg(viewer.orgId, id, { withPayload: roleCan(viewer.role, 'readPayload') });
      const visible = await scope.visibleIds(viewer);
      if (row && visible !== null) {
        const sent = await deliveries.byEvents([row.id]);
        if (!sent.some((d) => visible.includes(d.endpointId))) throw notFound('event', id);
      }
      if (!row) throw notFound('event', id);
      return row;
    },
    /**
     * The body sent to endpoints for each event (the envelope, built as the dispatcher builds it),
     * keyed by event id; null once the payload is purged. Callers check the right to see payloads.
     */
    async requestBodies(viewer: Viewer, eventIds: readonly string[]): Promise<Map<string, string | null>> {
      const rows = await events.payloadTexts(viewer.orgId, eventIds);
      return new Map(
        rows.map((e) => [e.id, e.dataJson === null ? null : envelopeBody({ id: e.id, type: e.type, timestamp: e.createdAt.toISOString(), dataJson: e.dataJson })]),
      );
    },
    async listDeliveries(viewer: Viewer, filter: DeliveryFilter, page: PageArgs) {
      checkWindow(filter);
      const endpointId = await endpointRefs.filterId(viewer, filter.endpointId);
      return deliveries.list(viewer.orgId, { ...filter, endpointId, endpointIds: await scope.visibleIds(viewer) }, page);
    },
    getDelivery: visibleDelivery,
    async retryDelivery(viewer: Viewer, id: string) {
      const delivery = await visibleDelivery(viewer, id);
      // A DEAD delivery comes back to life: it needs its payload (a PENDING one keeps it), and a
      // partition that retention is about to drop must not gain a pending delivery.
      const event = delivery.status === 'DEAD' ? await events.findForOrg(viewer.orgId, delivery.eventId) : undefined;
      if (event === null || event?.data === null) {
        const when = event?.payloadPurgedAt ? ` on ${event.payloadPurgedAt.toISOString()}` : '';
        throw badInput(
          `The payload of event ${delivery.eventId} was purged${when} after the ${deps.retentionDays}-day payload retention (WEBHOOKS_RETENTION_DAYS); this delivery cannot be sent again.`,
          'id',
        );
      }
      const createdMs = idTimeMs(delivery.id) ?? delivery.createdAt.getTime();
      if (event && createdMs < Date.now() - (deps.historyRetentionDays - 1) * DAY_MS) {
        throw badInput(
          `This delivery is older than ${deps.historyRetentionDays - 1} days and leaves the history within a day (WEBHOOKS_HISTORY_RETENTION_DAYS); it cannot be retried.`,
          'id',
        );
      }
      await engine.retryDelivery(viewer.orgId, id);
      return (await deliveries.findForOrg(viewer.orgId, id))!;
    },
    /** Replays within the window whose deliveries can still be sent (see revivableFromMs). */
    async replayDeliveries(viewer: Viewer, filter: ReplayFilter): Promise<number> {
      checkWindow(filter);
      const fromMs = revivableFromMs(Date.now());
      const since = filter.since && filter.since.getTime() > fromMs ? filter.since : new Date(fromMs);
      if (filter.until && filter.until <= since) return 0;
      const endpointId = await endpointRefs.filterId(viewer, filter.endpointId);
      const visible = await scope.visibleIds(viewer);
      if (visible === null) return engine.replayDeliveries(viewer.orgId, { ...filter, since, endpointId });
      // A label-scoped session replays its own endpoints only, one endpoint at a time.
      let count = 0;
      for (const id of endpointId ? [endpointId] : visible) count += await engine.replayDeliveries(viewer.orgId, { ...filter, since, endpointId: id });
      return count;
    },
    /**
     * Sends a test event now: `webhook.test` with the default message, or a catalog type with the
     * given payload (checked against the type's schema). Either argument alone is allowed.
     */
    async sendTestEvent(viewer: Viewer, idOrUid: string, content: { type?: string | null; data?: unknown } = {}) {
      const endpointId = (await endpointRefs.find(viewer, idOrUid)).id;
      const custom = content.type != null || content.data != null;
      const checked = custom ? await deps.eventTypes.checkTestEvent(viewer, content.type ?? 'webhook.test', content.data ?? {}) : undefined;
      const attempt = await engine.sendTestEvent(viewer.orgId, endpointId, viewer.apiKeyName, checked);
      return (await deliveries.attemptsByIds([attempt.id]))[0]!;
    },
    /** The half-open probe of an endpoint whose circuit is open, now (see engine/probe.ts). */
    async probeEndpoint(viewer: Viewer, idOrUid: string) {
      const endpointId = (await endpointRefs.find(viewer, idOrUid)).id;
      const attemptId = await engine.probeEndpoint(viewer.orgId, endpointId, viewer.apiKeyName);
      return (await deliveries.attemptsByIds([attemptId]))[0]!;
    },
  };
}
export type DeliveryService = ReturnType<typeof createDeliveryService>;
