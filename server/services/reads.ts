import type { Database } from '../db/client.js';
import { createDeliveriesRepo, type AttemptsOwner } from '../db/repos/deliveries.js';
import { createEndpointsRepo } from '../db/repos/endpoints.js';
import { createEventsRepo } from '../db/repos/events.js';
import type { AttemptRow, DeliveryRow, EndpointRow, EventRow } from '../db/schema.js';
import { roleCan } from '../domain/roles.js';
import type { Viewer } from './auth.js';

/**
 * Batch reads by id for the GraphQL loaders, scoped to the caller's organization: a row of
 * another organization is left out, exactly like a missing one. No caller, no read.
 */
export function createReadService(deps: { database: Database }) {
  const endpoints = createEndpointsRepo(deps.database.db);
  const events = createEventsRepo(deps.database.db);
  const deliveries = createDeliveriesRepo(deps.database.db);
  const scoped =
    <T extends { orgId: string }, K = string>(load: (ids: readonly K[], viewer: Viewer) => Promise<T[]>) =>
    async (viewer: Viewer | null, ids: readonly K[]): Promise<T[]> => {
      if (viewer === null || ids.length === 0) return [];
      return (await load(ids, viewer)).filter((row) => row.orgId === viewer.orgId);
    };

  return {
    /** Endpoints by id, deleted ones included (delivery history still points at them). */
    endpoints: scoped<EndpointRow>((ids) => endpoints.findByIds(ids)),
    /** EventSubscription patterns of endpoints (ids the caller got from `endpoints`). */
    async patterns(viewer: Viewer | null, endpointIds: readonly string[]): Promise<Map<string, string[]>> {
      if (viewer === null || endpointIds.length === 0) return new Map();
      return endpoints.patternsFor(endpointIds, { orgId: viewer.orgId });
    },
    /** Events by id; without their payloads for roles that may not read them. */
    events: scoped<EventRow>((ids, viewer) => events.findByIds(ids, { withPayload: roleCan(viewer.role, 'readPayload') })),
    deliveries: scoped<DeliveryRow>((ids) => deliveries.findByIds(ids)),
    attempts: scoped<AttemptRow>((ids) => deliveries.attemptsByIds(ids)),
    /** Attempts of deliveries, each given with the times that bound where its attempts are (history partitions). */
    attemptsOfDeliveries: scoped<AttemptRow, AttemptsOwner>((owners) => deliveries.attemptsOf(owners)),
    deliveriesOfEvents: scoped<DeliveryRow>((ids) => deliveries.byEvents(ids)),
  };
}
export type ReadService = ReturnType<typeof createReadService>;
