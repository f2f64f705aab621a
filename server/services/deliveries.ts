import type { Database } from '../db/client.js';
import { createDeliveriesRepo, type DeliveryFilter } from '../db/repos/deliveries.js';
import { createEventsRepo, type EventFilter } from '../db/repos/events.js';
import type { PageArgs } from '../db/repos/pagination.js';
import { badInput, notFound } from '../domain/errors.js';
import { DAY_MS } from '../domain/historyPartitions.js';
import { idTimeMs } from '../domain/ids.js';
import type { Engine } from '../engine/index.js';
import type { PublishInput } from '../engine/publish.js';
import type { ReplayFilter } from '../engine/recovery.js';
import type { Viewer } from './auth.js';

/** Events, deliveries and attempts for the caller's organization, and the commands on them. */
export function createDeliveryService(deps: { database: Database; engine: Engine; retentionDays: number; historyRetentionDays: number }) {
  const history = { historyRetentionDays: deps.historyRetentionDays };
  const events = createEventsRepo(deps.database.db, history);
  const deliveries = createDeliveriesRepo(deps.database.db, history);
  const { engine } = deps;

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

    publish: (viewer: Viewer, inputs: PublishInput[], batch: boolean) =>
      engine.publisher.publish(viewer.orgId, inputs, batch ? (i) => `inputs[${i}].` : () => 'input.'),

    listEvents(viewer: Viewer, filter: EventFilter, page: PageArgs) {
      checkWindow(filter);
      return events.list(viewer.orgId, filter, page);
    },
    async getEvent(viewer: Viewer, id: string) {
      const row = await events.findForOrg(viewer.orgId, id);
      if (!row) throw notFound('event', id);
      return row;
    },
    listDeliveries(viewer: Viewer, filter: DeliveryFilter, page: PageArgs) {
      checkWindow(filter);
      return deliveries.list(viewer.orgId, filter, page);
    },
    async getDelivery(viewer: Viewer, id: string) {
      const row = await deliveries.findForOrg(viewer.orgId, id);
      if (!row) throw notFound('delivery', id);
      return row;
    },
    async retryDelivery(viewer: Viewer, id: string) {
      const delivery = await deliveries.findForOrg(viewer.orgId, id);
      if (!delivery) throw notFound('delivery', id);
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
    replayDeliveries(viewer: Viewer, filter: ReplayFilter) {
      checkWindow(filter);
      const fromMs = revivableFromMs(Date.now());
      const since = filter.since && filter.since.getTime() > fromMs ? filter.since : new Date(fromMs);
      if (filter.until && filter.until <= since) return Promise.resolve(0);
      return engine.replayDeliveries(viewer.orgId, { ...filter, since });
    },
    async sendTestEvent(viewer: Viewer, endpointId: string) {
      const attempt = await engine.sendTestEvent(viewer.orgId, endpointId, viewer.apiKeyName);
      return (await deliveries.attemptsByIds([attempt.id]))[0]!;
    },
  };
}
export type DeliveryService = ReturnType<typeof createDeliveryService>;
