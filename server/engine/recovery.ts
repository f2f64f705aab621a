import type { Sql, TransactionSql } from 'postgres';
import { badInput, notFound } from '../domain/errors.js';
import { idLowerBound, idTimeMs } from '../domain/ids.js';
import { CHANNELS, notifyIds } from '../db/notifications.js';
import type { DeliveryJobs } from '../db/repos/deliveryJobs.js';

export interface ReplayFilter {
  endpointId?: string | null;
  statuses?: ('PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED')[] | null;
  eventType?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/** Most deliveries one replay re-arms; a larger window is replayed in several calls. */
export const MAX_REPLAY = 100_000;

interface Picked {
  id: string;
  endpoint_id: string;
  event_id: string;
}

/**
 * Operator recovery: retry one delivery now, or replay many. A dead delivery gets one manual
 * attempt (it returns to DEAD if that fails, instead of a new multi-day schedule); a failed
 * delivery that is still waiting for its next scheduled attempt is simply attempted now.
 */
export function createRecovery(deps: {
  sql: Sql;
  jobs: DeliveryJobs;
  /**
   * Called in the transaction that brings deliveries back to PENDING, before it does, with the
   * time of the oldest of them: history's pending horizon must reach back to it.
   */
  onRevive?: (tx: TransactionSql, createdFromMs: number) => Promise<void>;
}) {
  const { sql, jobs } = deps;
  const revived = async (tx: TransactionSql, ids: string[]) => {
    const times = ids.map((id) => idTimeMs(id)).filter((ms): ms is number => ms !== null);
    if (deps.onRevive && times.length) await deps.onRevive(tx, Math.min(...times));
  };

  async function reviveDead(tx: TransactionSql, picked: Picked[]): Promise<void> {
    await jobs.enqueue(
      tx,
      picked.map((p) => ({ endpointId: p.endpoint_id, deliveryId: p.id, eventId: p.event_id, manual: true, singleAttempt: true })),
    );
  }

  /** Moves waiting retry jobs of these deliveries to now, marked manual. Returns how many moved. */
  async function hurryFailed(tx: TransactionSql, picked: Picked[]): Promise<Set<string>> {
    if (picked.length === 0) return new Set();
    return jobs.hurry(tx, picked.map((p) => ({ endpointId: p.endpoint_id, deliveryId: p.id })));
  }

  return {
    /** Retries one DEAD or failed delivery now; other states get a BAD_USER_INPUT saying why not. */
    async retryDelivery(orgId: string, deliveryId: string): Promise<void> {
      await sql.begin(async (tx) => {
        const [d] = await tx<(Picked & { status: string; attempt_count: number; parked: boolean; deleted: boolean; is_test: boolean })[]>`
          SELECT d.id, d.endpoint_id, d.event_id, d.status, d.attempt_count, d.parked, d.is_test, e.deleted_at IS NOT NULL AS deleted
          FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
          WHERE d.org_id = ${orgId} AND d.id = ${deliveryId}
          FOR UPDATE OF d`;
        if (!d) throw notFound('delivery', deliveryId);
        if (d.deleted) throw badInput('The endpoint of this delivery was deleted; there is nowhere to send it.', 'id');
        if (d.is_test) throw badInput('Test deliveries are not retried; send a new test event instead.', 'id');
        if (d.status === 'DEAD') {
          await revived(tx, [d.id]);
          await tx`UPDATE deliveries SET status = 'PENDING', parked = false, next_attempt_at = now(), completed_at = NULL WHERE id = ${d.id}`;
          await reviveDead(tx, [d]);
        } else if (d.status === 'PENDING' && d.attempt_count > 0 && !d.parked) {
          const moved = await hurryFailed(tx, [d]);
          if (moved.size === 0) {
            throw badInput('An attempt of this delivery is in progress right now; its outcome decides what happens next.', 'id');
          }
          await tx`UPDATE deliveries SET next_attempt_at = now() WHERE id = ${d.id}`;
        } else {
          const why =
            d.status === 'SUCCEEDED'
              ? 'it already succeeded'
              : d.status === 'CANCELLED'
                ? 'it was cancelled'
                : d.parked
                  ? 'it is waiting behind an earlier delivery with the same orderingKey (STRICT ordering)'
                  : 'it has not been attempted yet';
          throw badInput(`Only DEAD or failed deliveries can be retried; this one cannot because ${why}.`, 'id');
        }
        await notifyIds(tx, CHANNELS.wake, [d.endpoint_id]);
      });
    },

    /** Re-arms DEAD and failed deliveries matching the filter; answers how many (0 is not an error). */
    async replayDeliveries(orgId: string, filter: ReplayFilter): Promise<number> {
      const statuses = filter.statuses?.length ? filter.statuses : ['DEAD' as const];
      const unsupported = statuses.filter((s) => s !== 'DEAD' && s !== 'PENDING');
      if (unsupported.length) {
        throw badInput(
          `Replay covers DEAD deliveries and failed PENDING ones waiting for a retry; ${unsupported.join(', ')} cannot be replayed.`,
          'filter.statuses',
        );
      }
      if (filter.since && filter.until && filter.since >= filter.until) {
        throw badInput('"since" must be before "until".', 'filter.since');
      }
      return sql.begin(async (tx) => {
        const picked = await tx<(Picked & { status: string })[]>`
          SELECT d.id, d.endpoint_id, d.event_id, d.status FROM deliveries d
          JOIN endpoints e ON e.id = d.endpoint_id AND e.deleted_at IS NULL
          WHERE d.org_id = ${orgId} AND NOT d.is_test
            AND (d.status = 'DEAD' AND ${statuses.includes('DEAD')}
                 OR d.status = 'PENDING' AND d.attempt_count > 0 AND NOT d.parked AND ${statuses.includes('PENDING')})
            ${filter.endpointId ? tx`AND d.endpoint_id = ${filter.endpointId}` : tx``}
            ${filter.eventType ? tx`AND d.event_type = ${filter.eventType}` : tx``}
            ${filter.since ? tx`AND d.id >= ${idLowerBound('delivery', filter.since.getTime())}` : tx``}
            ${filter.until ? tx`AND d.id < ${idLowerBound('delivery', filter.until.getTime())}` : tx``}
          ORDER BY d.id
          LIMIT ${MAX_REPLAY}
          FOR UPDATE OF d SKIP LOCKED`;
        const dead = picked.filter((p) => p.status === 'DEAD');
        if (dead.length) {
          await revived(tx, dead.map((d) => d.id));
          await tx`UPDATE deliveries SET status = 'PENDING', parked = false, next_attempt_at = now(), completed_at = NULL
                   WHERE id = ANY(${dead.map((d) => d.id)}::text[])`;
          await reviveDead(tx, dead);
        }
        const moved = await hurryFailed(tx, picked.filter((p) => p.status === 'PENDING'));
        if (moved.size) await tx`UPDATE deliveries SET next_attempt_at = now() WHERE id = ANY(${[...moved]}::text[])`;
        const endpoints = new Set([...dead, ...picked.filter((p) => moved.has(p.id))].map((p) => p.endpoint_id));
        await notifyIds(tx, CHANNELS.wake, endpoints);
        return dead.length + moved.size;
      });
    },
  };
}
export type Recovery = ReturnType<typeof createRecovery>;
