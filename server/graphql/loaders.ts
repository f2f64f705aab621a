import DataLoader from 'dataloader';
import type { Services } from '../services/index.js';
import type { Viewer } from '../services/auth.js';
import type { AttemptRow, DeliveryRow, EndpointRow, EventRow } from '../db/schema.js';
import type { EndpointHealth } from '../domain/endpointHealth.js';
import { labelsInScope } from '../domain/portalSessions.js';
import type { AttemptsOwner } from '../db/repos/deliveries.js';

/**
 * Per-request batch loaders over the read service, which scopes every read to the caller's
 * organization (a row of another organization loads as null, exactly like a missing one). For a
 * label-scoped portal session the same holds for endpoints outside its labels and for the
 * deliveries and attempts of those.
 */
export function createLoaders(services: Services, viewer: Viewer | null) {
  const reads = services.reads;
  const scope = viewer?.portal?.labels ?? null;
  /** Rows whose endpoint the viewer may not see, as null (only label-scoped sessions pay a lookup). */
  const inScope = async <T extends { endpointId: string }>(rows: (T | null)[]): Promise<(T | null)[]> => {
    if (scope === null) return rows;
    const endpoints = await loaders.endpoint.loadMany(rows.map((r) => r?.endpointId ?? ''));
    return rows.map((r, i) => (r && endpoints[i] && !(endpoints[i] instanceof Error) ? r : null));
  };
  const byId = <T extends { id: string }>(load: (viewer: Viewer | null, ids: readonly string[]) => Promise<T[]>, visible?: (rows: (T | null)[]) => Promise<(T | null)[]>) =>
    new DataLoader<string, T | null>(async (ids) => {
      const rows = new Map((await load(viewer, ids)).map((r) => [r.id, r]));
      const found = ids.map((id) => rows.get(id) ?? null);
      return visible ? visible(found) : found;
    });
  /** Rows grouped by the key (a string id, or an object named by `keyId`) they belong to. */
  const groupBy = <T extends { endpointId: string }, K = string>(
    load: (viewer: Viewer | null, keys: readonly K[]) => Promise<T[]>,
    groupOf: (row: T) => string,
    keyId: (key: K) => string = (key) => key as string,
  ) =>
    new DataLoader<K, T[], string>(
      async (keys) => {
        const groups = new Map<string, T[]>(keys.map((k) => [keyId(k), []]));
        const rows = await load(viewer, keys);
        const visible = await inScope(rows);
        rows.forEach((row, i) => {
          if (visible[i]) groups.get(groupOf(row))?.push(row);
        });
        return keys.map((k) => groups.get(keyId(k)) ?? []);
      },
      { cacheKeyFn: keyId },
    );

  // Built on first use: a live subscription renews its loaders for every message it sends, and
  // most messages touch one or two of them.
  const loaders = lazily({
    /** Endpoints by id, deleted ones included (delivery history still points at them). */
    endpoint: () =>
      byId<EndpointRow>(reads.endpoints, async (rows) => rows.map((r) => (r && labelsInScope(scope, r.labels) ? r : null))),
    patterns: () =>
      new DataLoader<string, string[]>(async (ids) => {
        const map = await reads.patterns(viewer, ids);
        return ids.map((id) => map.get(id) ?? []);
      }),
    event: () => byId<EventRow>(reads.events),
    delivery: () => byId<DeliveryRow>(reads.deliveries, inScope),
    attempt: () => byId<AttemptRow>(reads.attempts, inScope),
    /** Keyed by delivery, with the times that bound where its attempts are (history partitions). */
    attemptsOfDelivery: () => groupBy<AttemptRow, AttemptsOwner>(reads.attemptsOfDeliveries, (a) => a.deliveryId, (o) => o.id),
    deliveriesOfEvent: () => groupBy<DeliveryRow>(reads.deliveriesOfEvents, (d) => d.eventId),
    /** The request body of each event's deliveries (null when purged); callers check readPayload. */
    requestBody: () =>
      new DataLoader<string, string | null>(async (eventIds) => {
        if (!viewer) return eventIds.map(() => null);
        const bodies = await services.deliveries.requestBodies(viewer, eventIds);
        return eventIds.map((id) => bodies.get(id) ?? null);
      }),
    /** Health of endpoints already loaded for the caller (one query for a whole list). */
    health: () =>
      new DataLoader<EndpointRow, EndpointHealth, string>(
        async (rows) => {
          const health = await services.endpointHealth.forEndpoints(rows);
          return rows.map((r) => health.get(r.id)!);
        },
        { cacheKeyFn: (row) => row.id },
      ),
  });
  return loaders;
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
