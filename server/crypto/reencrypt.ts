/**
 * Master key rotation: re-seals every secret stored at rest (endpoints' mTLS client keys, URL
 * query strings and custom headers, signing keys' HMAC secrets and Ed25519 seeds, stored
 * Idempotency-Key responses) with the current master key. Values already under it are
 * left alone, so the command is idempotent and can be interrupted and run again; rows go in
 * batches, each in its own short transaction, so a large table never holds locks for long and
 * running processes keep working (they open values sealed under either key meanwhile, see
 * WEBHOOKS_PREVIOUS_MASTER_KEYS).
 */
import type { Sql } from 'postgres';
import { sealedKeyId, type SecretBox } from './secretBox.js';

/** A text column holding sealed values (format of secretBox.ts), keyed by a text primary key. */
interface SealedColumn {
  table: 'endpoints' | 'signing_keys' | 'idempotency_keys';
  column: 'tls_client_key_sealed' | 'secret_sealed' | 'url_query_sealed' | 'headers_sealed' | 'response_sealed';
}

/** Every column that holds a sealed value. A new sealed column must be added here. */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: 'endpoints', column: 'tls_client_key_sealed' },
  { table: 'endpoints', column: 'url_query_sealed' },
  { table: 'endpoints', column: 'headers_sealed' },
  { table: 'signing_keys', column: 'secret_sealed' },
  // Idempotency-Key responses (24 hours; a createEndpoint response holds the endpoint's secret).
  { table: 'idempotency_keys', column: 'response_sealed' },
];

export interface ColumnReport {
  table: string;
  column: string;
  /** Values re-sealed with the current master key by this run. */
  reencrypted: number;
  /** Values that could not be opened with the current or a previous key (left untouched). */
  failed: { id: string; keyId: string | null; reason: string }[];
}

export interface ReencryptReport {
  keyId: string;
  columns: ColumnReport[];
  reencrypted: number;
  failed: number;
}

/**
 * Re-seals, with `box`'s current key, every stored value sealed under another key that `box` can
 * open (its previous keys). Returns what was done; values it cannot open are reported, not changed.
 */
export async function reencryptSecrets(sql: Sql, box: SecretBox, options: { batchSize?: number; onBatch?: (table: string, count: number) => void } = {}): Promise<ReencryptReport> {
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const columns: ColumnReport[] = [];
  for (const target of SEALED_COLUMNS) {
    const report: ColumnReport = { table: target.table, column: target.column, reencrypted: 0, failed: [] };
    // Walk the primary key: rows that fail stay behind the cursor, so a batch never repeats.
    let cursor = '';
    for (;;) {
      const done = await sql.begin(async (tx) => {
        const rows = await tx<{ id: string; sealed: string }[]>`
          SELECT id, ${tx(target.column)} AS sealed FROM ${tx(target.table)}
          WHERE id > ${cursor} AND ${tx(target.column)} IS NOT NULL
            AND split_part(${tx(target.column)}, '.', 2) <> ${box.keyId}
          ORDER BY id
          LIMIT ${batchSize}
          FOR UPDATE`;
        if (rows.length === 0) return true;
        const ids: string[] = [];
        const values: string[] = [];
        for (const row of rows) {
          try {
            values.push(box.seal(box.open(row.sealed)));
            ids.push(row.id);
          } catch (err) {
            report.failed.push({ id: row.id, keyId: sealedKeyId(row.sealed), reason: (err as Error).message });
          }
        }
        if (ids.length > 0) {
          await tx`
            UPDATE ${tx(target.table)} t SET ${tx(target.column)} = x.sealed
            FROM unnest(${ids}::text[], ${values}::text[]) AS x(id, sealed)
            WHERE t.id = x.id`;
        }
        report.reencrypted += ids.length;
        options.onBatch?.(target.table, ids.length);
        cursor = rows[rows.length - 1]!.id;
        return rows.length < batchSize;
      });
      if (done) break;
    }
    columns.push(report);
  }
  return {
    keyId: box.keyId,
    columns,
    reencrypted: columns.reduce((n, c) => n + c.reencrypted, 0),
    failed: columns.reduce((n, c) => n + c.failed.length, 0),
  };
}

/** How many stored values are sealed under each master key id (to check a rotation finished). */
export async function sealedKeyIds(sql: Sql): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const target of SEALED_COLUMNS) {
    const rows = await sql<{ key_id: string; n: number }[]>`
      SELECT split_part(${sql(target.column)}, '.', 2) AS key_id, count(*)::int AS n
      FROM ${sql(target.table)} WHERE ${sql(target.column)} IS NOT NULL GROUP BY 1`;
    for (const r of rows) counts.set(r.key_id, (counts.get(r.key_id) ?? 0) + r.n);
  }
  return counts;
}
