import type { Database } from '../db/client.js';
import { createDeliveriesRepo } from '../db/repos/deliveries.js';
import { createStatsRepo } from '../db/repos/stats.js';
import type { EndpointRow } from '../db/schema.js';
import { assessEndpointHealth, HEALTH_RULES, type EndpointHealth } from '../domain/endpointHealth.js';

/** Pending deliveries are counted up to here; the answer then says "more than". */
export const BACKLOG_COUNT_CAP = 100_000;

export interface EndpointBacklog {
  /** Pending deliveries of the endpoint, at most BACKLOG_COUNT_CAP. */
  count: number;
  /** True when there are more than `count`. */
  capped: boolean;
  oldestCreatedAt: Date | null;
}

/** How endpoints are doing: health from state and recent attempts, and what waits behind them. */
export function createEndpointHealthService(deps: {
  database: Database;
  /** The smallest id a pending delivery outside the DEFAULT partition can have (engine.pendingHorizon). */
  pendingFrom: () => Promise<string>;
}) {
  const stats = createStatsRepo(deps.database.sql);
  const deliveries = createDeliveriesRepo(deps.database.db);

  return {
    /** Health of each endpoint (one query for all of them), keyed by endpoint id. */
    async forEndpoints(rows: readonly EndpointRow[], nowMs = Date.now()): Promise<Map<string, EndpointHealth>> {
      const since = new Date(nowMs - HEALTH_RULES.windowSeconds * 1000);
      const recent = await stats.recentOutcomes(
        rows.map((r) => r.id),
        since,
        HEALTH_RULES.sampleSize,
      );
      return new Map(
        rows.map((row) => [
          row.id,
          assessEndpointHealth({
            active: row.active,
            disabledReason: row.disabledReason,
            circuitState: row.circuitState,
            consecutiveFailures: row.consecutiveFailures,
            recent: recent.get(row.id) ?? { attempts: 0, failures: 0, lastAttemptAt: null },
          }),
        ]),
      );
    },

    /** The deliveries waiting for an endpoint the caller has already loaded (so it is of their organization). */
    async backlog(endpoint: Pick<EndpointRow, 'id'>): Promise<EndpointBacklog> {
      return deliveries.pendingBacklog(endpoint.id, BACKLOG_COUNT_CAP, await deps.pendingFrom());
    },
  };
}
export type EndpointHealthService = ReturnType<typeof createEndpointHealthService>;
