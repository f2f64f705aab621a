import type { Sql, TransactionSql } from 'postgres';
import { idLowerBound } from '../domain/ids.js';
import { createHistoryStateRepo } from '../db/repos/historyState.js';

/** How long a process reuses the pending horizon it read. */
export const PENDING_HORIZON_TTL_MS = 5_000;

/**
 * Where PENDING deliveries can be: from the day partition history maintenance found to hold the
 * oldest one (history_state.pending_from_ms), plus the DEFAULT partition, which a statement with
 * only a lower id bound always reads. Statements about pending deliveries (STRICT ordering,
 * endpoint deletion) add `id >= deliveryBound()`, so Postgres plans a few recent partitions, not
 * all of them.
 *
 * A delivery brought back to PENDING (retry, replay) lowers the horizon in the same transaction
 * (`lower`). Another process may use its copy for up to PENDING_HORIZON_TTL_MS more: meanwhile a
 * STRICT check there may not see that delivery (it was DEAD; later deliveries with its ordering
 * key were already let through).
 */
export function createPendingHorizon(sql: Sql, ttlMs = PENDING_HORIZON_TTL_MS) {
  const state = createHistoryStateRepo(sql);
  let cached: { atMs: number; value: Promise<number> } | null = null;

  function fromMs(): Promise<number> {
    if (cached && Date.now() - cached.atMs < ttlMs) return cached.value;
    const value = state.read().then((s) => s.pendingFromMs);
    cached = { atMs: Date.now(), value };
    value.catch(() => {
      if (cached?.value === value) cached = null;
    });
    return value;
  }

  return {
    /** The smallest delivery id a pending delivery outside the DEFAULT partition can have. */
    async deliveryBound(): Promise<string> {
      return idLowerBound('delivery', await fromMs());
    },
    /** The same, read now (endpoint deletion must not miss a delivery). */
    async freshDeliveryBound(on?: Sql | TransactionSql): Promise<string> {
      return idLowerBound('delivery', (await state.read(on)).pendingFromMs);
    },
    /** Inside the transaction that brings deliveries created at `ms` or later back to PENDING. */
    async lower(tx: TransactionSql, ms: number): Promise<void> {
      await state.lowerPendingFrom(ms, tx);
      cached = null;
    },
    forget(): void {
      cached = null;
    },
  };
}
export type PendingHorizon = ReturnType<typeof createPendingHorizon>;
