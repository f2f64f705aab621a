import DataLoader from 'dataloader';
import type { Services } from '../services/index.js';
import type { Viewer } from '../services/auth.js';
import type { AttemptRow, DeliveryRow, EndpointRow, EventRow } from '../db/schema.js';
import { createEndpointsRepo } from '../db/repos/endpoints.js';
import type { AttemptsOwner } from '../db/repos/deliveries.js';

/**
 * Per-request batch loaders. Loads are scoped to the caller's organization: a row of another
 * organization loads as null, exactly like a missing one.
 */
export function createLoaders(services: Services, viewer: Viewer | null) {
  const endpointsRepo = createEndpointsRepo(services.engine.database.db);
  const { events, deliveries } = services.deliveries.repos;
  const orgId = viewer?.orgId ?? null;
  const sameOrg = <T extends { orgId: string }>(row: T | undefined): T | null => (row && row.orgId === orgId ? row : null);
  const byId = <T extends { id: string; orgId: string }>(load: (ids: readonly string[]) => Promise<T[]>) =>
    new DataLoader<string, T | null>(async (ids) => {
      const rows = new Map((await load(ids)).map((r) => [r.id, r]));
      return ids.map((id) => sameOrg(rows.get(id)));
    });
  const groupBy = <T extends { orgId: string }>(load: (ids: readonly string[]) => Promise<T[]>, key: (row: T) => string) =>
    new DataLoader<string, T[]>(async (ids) => {
      const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
      for (const row of await load(ids)) if (row.orgId === orgId) groups.get(key(row))?.push(row);
      return ids.map((id) => groups.get(id) ?? []);
    });

  // Built on first use: a live subscription renews its loaders for every message it sends, and
  // most messages touch one or two of them.
  return lazily({
    /** Endpoints by id, deleted ones included (delivery history still points at them). */
    endpoint: () => byId<EndpointRow>((ids) => endpointsRepo.findByIds(ids)),
    patterns: () =>
      new DataLoader<string, string[]>(async (ids) => {
        const map = await endpointsRepo.patternsFor(ids);
        return ids.map((id) => map.get(id) ?? []);
      }),
    event: () => byId<EventRow>((ids) => events.findByIds(ids)),
    delivery: () => byId<DeliveryRow>((ids) => deliveries.findByIds(ids)),
    attempt: () => byId<AttemptRow>((ids) => deliveries.attemptsByIds(ids)),
    /** Keyed by delivery, with the times that bound where its attempts are (history partitions). */
    attemptsOfDelivery: () =>
      new DataLoader<AttemptsOwner, AttemptRow[], string>(
        async (owners) => {
          const groups = new Map<string, AttemptRow[]>(owners.map((o) => [o.id, []]));
          for (const row of await deliveries.attemptsOf(owners)) if (row.orgId === orgId) groups.get(row.deliveryId)?.push(row);
          return owners.map((o) => groups.get(o.id) ?? []);
        },
        { cacheKeyFn: (o) => o.id },
      ),
    deliveriesOfEvent: () => groupBy<DeliveryRow>((ids) => deliveries.byEvents(ids), (d) => d.eventId),
  });
}

/** An object whose properties are made by their factory on first read, then kept. */
function lazily<T extends Record<string, () => unknown>>(factories: T): { readonly [K in keyof T]: ReturnType<T[K]> } {
  const made: Partial<Record<keyof T, unknown>> = {};
  const result = {} as { [K in keyof T]: ReturnType<T[K]> };
  for (const key of Object.keys(factories) as (keyof T)[]) {
    Object.defineProperty(result, key, {
      enumerable: true,
      get: () => (key in made ? made[key] : (made[key] = factories[key]!())),
    });
  }
  return result;
}
export type Loaders = ReturnType<typeof createLoaders>;
