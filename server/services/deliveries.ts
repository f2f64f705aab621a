import type { Database } from '../db/client.js';
import { createDeliveriesRepo, type DeliveryFilter } from '../db/repos/deliveries.js';
import { createEventsRepo, type EventFilter } from '../db/repos/events.js';
import type { PageArgs } from '../db/repos/pagination.js';
import { badInput, notFound } from '../domain/errors.js';
import type { Engine } from '../engine/index.js';
import type { PublishInput } from '../engine/publish.js';
import type { ReplayFilter } from '../engine/recovery.js';
import type { Viewer } from './auth.js';
import type { EndpointScope } from './endpointScope.js';

/** Events, deliveries and attempts for the caller's organization, and the commands on them. */
export function createDeliveryService(deps: { database: Database; engine: Engine; scope: EndpointScope }) {
  const events = createEventsRepo(deps.database.db);
  const deliveries = createDeliveriesRepo(deps.database.db);
  const { engine, scope } = deps;

  /** A delivery the viewer may see (its endpoint in the viewer's label scope), else NOT_FOUND. */
  async function visibleDelivery(viewer: Viewer, id: string) {
    const row = await deliveries.findForOrg(viewer.orgId, id);
    if (!row || !(await scope.seesId(viewer, row.endpointId))) throw notFound('delivery', id);
    return row;
  }

  /** NOT_FOUND for an endpoint id outside the viewer's scope (a filter argument). */
  async function checkEndpointArg(viewer: Viewer, endpointId: string | null | undefined): Promise<void> {
    if (endpointId && !(await scope.seesId(viewer, endpointId))) throw notFound('endpoint', endpointId);
  }

  function checkWindow(filter: { since?: Date | null; until?: Date | null }): void {
    if (filter.since && filter.until && filter.since >= filter.until) throw badInput('"since" must be before "until".', 'filter.since');
  }

  return {
    repos: { events, deliveries },

    publish: (viewer: Viewer, inputs: PublishInput[], batch: boolean) =>
      engine.publisher.publish(viewer.orgId, inputs, batch ? (i) => `inputs[${i}].` : () => 'input.'),

    async listEvents(viewer: Viewer, filter: EventFilter, page: PageArgs) {
      checkWindow(filter);
      return events.list(viewer.orgId, { ...filter, deliveredTo: await scope.visibleIds(viewer) }, page);
    },
    async getEvent(viewer: Viewer, id: string) {
      const row = await events.findForOrg(viewer.orgId, id);
      const visible = await scope.visibleIds(viewer);
      if (row && visible !== null) {
        const sent = await deliveries.byEvents([row.id]);
        if (!sent.some((d) => visible.includes(d.endpointId))) throw notFound('event', id);
      }
      if (!row) throw notFound('event', id);
      return row;
    },
    async listDeliveries(viewer: Viewer, filter: DeliveryFilter, page: PageArgs) {
      checkWindow(filter);
      await checkEndpointArg(viewer, filter.endpointId);
      return deliveries.list(viewer.orgId, { ...filter, endpointIds: await scope.visibleIds(viewer) }, page);
    },
    getDelivery: visibleDelivery,
    async retryDelivery(viewer: Viewer, id: string) {
      if (scope.scopeOf(viewer) !== null) await visibleDelivery(viewer, id);
      await engine.retryDelivery(viewer.orgId, id);
      return (await deliveries.findForOrg(viewer.orgId, id))!;
    },
    async replayDeliveries(viewer: Viewer, filter: ReplayFilter): Promise<number> {
      const visible = await scope.visibleIds(viewer);
      if (visible === null) return engine.replayDeliveries(viewer.orgId, filter);
      // A label-scoped session replays its own endpoints only, one endpoint at a time.
      await checkEndpointArg(viewer, filter.endpointId);
      let count = 0;
      for (const endpointId of filter.endpointId ? [filter.endpointId] : visible) count += await engine.replayDeliveries(viewer.orgId, { ...filter, endpointId });
      return count;
    },
    async sendTestEvent(viewer: Viewer, endpointId: string) {
      await checkEndpointArg(viewer, endpointId);
      const attempt = await engine.sendTestEvent(viewer.orgId, endpointId, viewer.apiKeyName);
      return (await deliveries.attemptsByIds([attempt.id]))[0]!;
    },
  };
}
export type DeliveryService = ReturnType<typeof createDeliveryService>;
