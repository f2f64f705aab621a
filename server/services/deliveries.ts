import type { Database } from '../db/client.js';
import { createDeliveriesRepo, type DeliveryFilter } from '../db/repos/deliveries.js';
import { createEventsRepo, type EventFilter } from '../db/repos/events.js';
import type { PageArgs } from '../db/repos/pagination.js';
import { badInput, notFound } from '../domain/errors.js';
import { roleCan } from '../domain/roles.js';
import type { Engine } from '../engine/index.js';
import type { PublishInput } from '../engine/publish.js';
import type { ReplayFilter } from '../engine/recovery.js';
import type { Viewer } from './auth.js';

/** Events, deliveries and attempts for the caller's organization, and the commands on them. */
export function createDeliveryService(deps: { database: Database; engine: Engine }) {
  const events = createEventsRepo(deps.database.db);
  const deliveries = createDeliveriesRepo(deps.database.db);
  const { engine } = deps;

  function checkWindow(filter: { since?: Date | null; until?: Date | null }): void {
    if (filter.since && filter.until && filter.since >= filter.until) throw badInput('"since" must be before "until".', 'filter.since');
  }

  return {
    publish: (viewer: Viewer, inputs: PublishInput[], batch: boolean) =>
      engine.publisher.publish(viewer.orgId, inputs, batch ? (i) => `inputs[${i}].` : () => 'input.'),

    listEvents(viewer: Viewer, filter: EventFilter, page: PageArgs) {
      checkWindow(filter);
      // Viewers get null payloads: 500 events of 256 KiB are not read for them.
      return events.list(viewer.orgId, filter, page, { withPayload: roleCan(viewer.role, 'readPayload') });
    },
    async getEvent(viewer: Viewer, id: string) {
      const row = await events.findForOrg(viewer.orgId, id, { withPayload: roleCan(viewer.role, 'readPayload') });
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
      await engine.retryDelivery(viewer.orgId, id);
      return (await deliveries.findForOrg(viewer.orgId, id))!;
    },
    replayDeliveries: (viewer: Viewer, filter: ReplayFilter) => engine.replayDeliveries(viewer.orgId, filter),
    async sendTestEvent(viewer: Viewer, endpointId: string) {
      const attempt = await engine.sendTestEvent(viewer.orgId, endpointId, viewer.apiKeyName);
      return (await deliveries.attemptsByIds([attempt.id]))[0]!;
    },
  };
}
export type DeliveryService = ReturnType<typeof createDeliveryService>;
