import DataLoader from 'dataloader';
import type { Services } from '../services/index.js';
import type { Viewer } from '../services/auth.js';
import type { AttemptRow, DeliveryRow, EndpointRow, EventRow } from '../db/schema.js';

/**
 * Per-request batch loaders over the read service, which scopes every read to the caller's
 * organization (a row of another organization loads as null, exactly like a missing one).
 */
export function createLoaders(services: Services, viewer: Viewer | null) {
  const reads = services.reads;
  const byId = <T extends { id: string }>(load: (viewer: Viewer | null, ids: readonly string[]) => Promise<T[]>) =>
    new DataLoader<string, T | null>(async (ids) => {
      const rows = new Map((await load(viewer, ids)).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id) ?? null);
    });
  const groupBy = <T>(load: (viewer: Viewer | null, ids: readonly string[]) => Promise<T[]>, key: (row: T) => string) =>
    new DataLoader<string, T[]>(async (ids) => {
      const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
      for (const row of await load(viewer, ids)) groups.get(key(row))?.push(row);
      return ids.map((id) => groups.get(id) ?? []);
    });

  // Built on first use: a live subscription renews its loaders for every message it sends, and
  // most messages touch one or two of them.
  return lazily({
    /** Endpoints by id, deleted ones included (delivery history still points at them). */
    endpoint: () => byId<EndpointRow>(reads.endpoints),
    patterns: () =>
      new DataLoader<string, string[]>(async (ids) => {
        const map = await reads.patterns(viewer, ids);
        return ids.map((id) => map.get(id) ?? []);
      }),
    event: () => byId<EventRow>(reads.events),
    delivery: () => byId<DeliveryRow>(reads.deliveries),
    attempt: () => byId<AttemptRow>(reads.attempts),
    attemptsOfDelivery: () => groupBy<AttemptRow>(reads.attemptsOfDeliveries, (a) => a.deliveryId),
    deliveriesOfEvent: () => groupBy<DeliveryRow>(reads.deliveriesOfEvents, (d) => d.eventId),
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
