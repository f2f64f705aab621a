import type { Sql, TransactionSql } from 'postgres';

/** The one row of `history_state` (see schema.ts). */
export interface HistoryState {
  pendingFromMs: number;
  version: number;
  bodiesPurgedUntilMs: number | null;
}

/** Reads and writes `history_state`. */
export function createHistoryStateRepo(sql: Sql) {
  return {
    async read(on: Sql | TransactionSql = sql): Promise<HistoryState> {
      const [row] = await on<{ pending_from_ms: string; version: string; bodies_purged_until_ms: string | null }[]>`
        SELECT pending_from_ms, version, bodies_purged_until_ms FROM history_state WHERE id = 1`;
      if (!row) return { pendingFromMs: 0, version: 0, bodiesPurgedUntilMs: null };
      return {
        pendingFromMs: Number(row.pending_from_ms),
        version: Number(row.version),
        bodiesPurgedUntilMs: row.bodies_purged_until_ms === null ? null : Number(row.bodies_purged_until_ms),
      };
    },

    /** Makes sure pending deliveries from `ms` on are looked for (before one is brought back to PENDING). */
    async lowerPendingFrom(ms: number, on: Sql | TransactionSql = sql): Promise<void> {
      await on`
        INSERT INTO history_state (id, pending_from_ms, version) VALUES (1, ${Math.max(0, Math.floor(ms))}, 1)
        ON CONFLICT (id) DO UPDATE SET pending_from_ms = least(history_state.pending_from_ms, excluded.pending_from_ms),
                                       version = history_state.version + 1`;
    },

    /**
     * Sets the value maintenance computed, unless a delivery was brought back to PENDING since it
     * read `version` (then only lowers it).
     */
    async setPendingFrom(ms: number, seenVersion: number): Promise<void> {
      const updated = await sql`UPDATE history_state SET pending_from_ms = ${ms} WHERE id = 1 AND version = ${seenVersion}`;
      if (updated.count === 0) await this.lowerPendingFrom(ms);
    },

    async setBodiesPurgedUntil(ms: number): Promise<void> {
      await sql`
        INSERT INTO history_state (id, bodies_purged_until_ms) VALUES (1, ${ms})
        ON CONFLICT (id) DO UPDATE SET bodies_purged_until_ms = excluded.bodies_purged_until_ms`;
    },
  };
}
export type HistoryStateRepo = ReturnType<typeof createHistoryStateRepo>;
