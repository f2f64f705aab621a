import type { Database } from '../db/client.js';
import { createStatsRepo, type StatsQuery } from '../db/repos/stats.js';
import type { ErrorClass } from '../domain/attemptOutcome.js';
import { DomainError } from '../domain/errors.js';
import { planStatsWindow } from '../domain/statsWindow.js';
import type { Viewer } from './auth.js';
import type { EndpointScope } from './endpointScope.js';
import { createEndpointRefs } from './endpointRefs.js';

export interface ErrorClassCount {
  errorClass: ErrorClass;
  count: number;
}

/** Attempts to one endpoint that started in [start, end). */
export interface StatsBucket {
  start: Date;
  end: Date;
  succeeded: number;
  failed: number;
  total: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Shared by every bucket of one answer: one extra query, run only when a bucket asks for it. */
  failuresByErrorClass: () => Promise<ErrorClassCount[]>;
}

export interface StatsRequest {
  endpointId: string;
  since: Date;
  until?: Date | null;
  bucketSeconds: number;
}

/** deliveryStats: per-bucket counts and latency percentiles of one endpoint's attempts. */
export function createDeliveryStatsService(deps: { database: Database; scope: EndpointScope }) {
  const repo = createStatsRepo(deps.database.sql);
  const endpointRefs = createEndpointRefs(deps.database.db, deps.scope);

  return {
    /**
     * Every bucket of the window, oldest first, empty ones included. The endpoint is named by id
     * or uid; another organization's, a deleted one or one outside a portal session's labels is
     * NOT_FOUND.
     */
    async buckets(viewer: Viewer, request: StatsRequest, nowMs: number): Promise<StatsBucket[]> {
      const window = planStatsWindow({ since: request.since, until: request.until, bucketSeconds: request.bucketSeconds, nowMs });
      if (window instanceof DomainError) throw window;
      const endpoint = await endpointRefs.find(viewer, request.endpointId);
      const query: StatsQuery = { endpointId: endpoint.id, since: new Date(window.sinceMs), until: new Date(window.untilMs), bucketSeconds: window.bucketSeconds };
      const rows = new Map((await repo.buckets(query)).map((r) => [r.start.getTime(), r]));
      let failures: Promise<Map<number, ErrorClassCount[]>> | null = null;
      const failuresByStart = () =>
        (failures ??= repo.failuresByErrorClass(query).then((list) => {
          const byStart = new Map<number, ErrorClassCount[]>();
          for (const f of list) {
            const key = f.start.getTime();
            if (!byStart.has(key)) byStart.set(key, []);
            byStart.get(key)!.push({ errorClass: f.errorClass as ErrorClass, count: f.count });
          }
          return byStart;
        }));
      const stepMs = window.bucketSeconds * 1000;
      return Array.from({ length: window.bucketCount }, (_, i): StatsBucket => {
        const startMs = window.sinceMs + i * stepMs;
        const row = rows.get(startMs);
        return {
          start: new Date(startMs),
          end: new Date(Math.min(startMs + stepMs, window.untilMs)),
          succeeded: row?.succeeded ?? 0,
          failed: row?.failed ?? 0,
          total: row?.total ?? 0,
          p50: row?.percentiles[0] ?? null,
          p95: row?.percentiles[1] ?? null,
          p99: row?.percentiles[2] ?? null,
          failuresByErrorClass: async () => (await failuresByStart()).get(startMs) ?? [],
        };
      });
    },
  };
}
