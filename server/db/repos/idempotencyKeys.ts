import type { Sql } from 'postgres';

/** A claimed key as another request with the same key finds it (times from the database clock). */
export interface StoredClaim {
  state: 'RUNNING' | 'DONE';
  requestHash: string;
  apiKeyId: string;
  leaseUntilMs: number | null;
  nowMs: number;
  responseSealed: string | null;
}

const PURGE_BATCH = 5000;

/**
 * Idempotency-Key claims (table idempotency_keys). Times come from the database clock, so api
 * processes on several machines agree on leases and expiry.
 */
export function createIdempotencyKeysRepo(sql: Sql) {
  return {
    /**
     * Claims `key` for a request: true when this request owns it now (no claim, or one older
     * than `ttlMs`, which is taken over in the same statement), false when another holds it.
     */
    async claim(row: { id: string; orgId: string; key: string; apiKeyId: string; requestHash: string }, leaseMs: number, ttlMs: number): Promise<boolean> {
      const claimed = await sql`
        INSERT INTO idempotency_keys (id, org_id, key, api_key_id, request_hash, state, lease_until)
        VALUES (${row.id}, ${row.orgId}, ${row.key}, ${row.apiKeyId}, ${row.requestHash}, 'RUNNING', now() + ${leaseMs} * interval '1 millisecond')
        ON CONFLICT (org_id, key) DO UPDATE SET
          id = EXCLUDED.id, api_key_id = EXCLUDED.api_key_id, request_hash = EXCLUDED.request_hash, state = 'RUNNING',
          lease_until = EXCLUDED.lease_until, response_sealed = NULL, created_at = now()
        WHERE idempotency_keys.created_at < now() - ${ttlMs} * interval '1 millisecond'
        RETURNING id`;
      return claimed.length === 1;
    },

    /** The live claim of `key` (null when there is none or it is older than `ttlMs`). */
    async find(orgId: string, key: string, ttlMs: number): Promise<StoredClaim | null> {
      const [row] = await sql<{ state: 'RUNNING' | 'DONE'; request_hash: string; api_key_id: string; lease_until_ms: string | null; now_ms: string; response_sealed: string | null }[]>`
        SELECT state, request_hash, api_key_id, response_sealed,
               (extract(epoch FROM lease_until) * 1000)::bigint AS lease_until_ms, (extract(epoch FROM now()) * 1000)::bigint AS now_ms
        FROM idempotency_keys
        WHERE org_id = ${orgId} AND key = ${key} AND created_at >= now() - ${ttlMs} * interval '1 millisecond'`;
      if (!row) return null;
      return {
        state: row.state,
        requestHash: row.request_hash,
        apiKeyId: row.api_key_id,
        leaseUntilMs: row.lease_until_ms === null ? null : Number(row.lease_until_ms),
        nowMs: Number(row.now_ms),
        responseSealed: row.response_sealed,
      };
    },

    /** Keeps a running claim alive. */
    async renew(id: string, leaseMs: number): Promise<void> {
      await sql`UPDATE idempotency_keys SET lease_until = now() + ${leaseMs} * interval '1 millisecond' WHERE id = ${id} AND state = 'RUNNING'`;
    },

    /** Stores the first response of a claim. */
    async complete(id: string, responseSealed: string): Promise<void> {
      await sql`UPDATE idempotency_keys SET state = 'DONE', response_sealed = ${responseSealed}, lease_until = NULL WHERE id = ${id} AND state = 'RUNNING'`;
    },

    /** Gives a running claim up, so the next request with the key runs. */
    async release(id: string): Promise<void> {
      await sql`DELETE FROM idempotency_keys WHERE id = ${id} AND state = 'RUNNING'`;
    },

    /** Deletes claims older than `ttlMs` (their sealed responses with them), in batches; returns how many. */
    async purgeExpired(ttlMs: number): Promise<number> {
      let purged = 0;
      for (;;) {
        const result = await sql`
          DELETE FROM idempotency_keys WHERE id IN (
            SELECT id FROM idempotency_keys WHERE created_at < now() - ${ttlMs} * interval '1 millisecond' LIMIT ${PURGE_BATCH})`;
        purged += result.count;
        if (result.count < PURGE_BATCH) return purged;
      }
    },
  };
}
export type IdempotencyKeysRepo = ReturnType<typeof createIdempotencyKeysRepo>;
