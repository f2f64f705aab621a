/**
 * Upgrade step for endpoints written before their URL query strings and custom header values
 * were sealed (drizzle/0002_endpoint_secrets): seals them and masks the plain columns. It needs
 * the master key, which SQL migrations do not have, so every process runs it at start, after the
 * migrations and before serving. Idempotent (rows already sealed are skipped), concurrent-safe
 * (rows are locked with SKIP LOCKED, and a row is only written while still unsealed), and in
 * short batches.
 */
import type { Sql } from 'postgres';
import type { SecretBox } from './secretBox.js';
import { sealHeaders, sealUrl } from './endpointSecrets.js';

const BATCH = 500;

/** Seals what is still in clear; returns how many endpoints it changed. */
export async function sealLegacyEndpointSecrets(sql: Sql, box: SecretBox): Promise<number> {
  let changed = 0;
  for (;;) {
    const done = await sql.begin(async (tx) => {
      const rows = await tx<{ id: string; url: string; url_query_sealed: string | null; headers: Record<string, string>; headers_sealed: string | null }[]>`
        SELECT id, url, url_query_sealed, headers, headers_sealed FROM endpoints
        WHERE (url_query_sealed IS NULL AND position('?' in url) > 0) OR (headers_sealed IS NULL AND headers <> '{}'::jsonb)
        ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`;
      for (const row of rows) {
        const url = row.url_query_sealed === null ? sealUrl(box, row.url) : { url: row.url, urlQuerySealed: row.url_query_sealed };
        const headers = row.headers_sealed === null ? sealHeaders(box, row.headers ?? {}) : { headers: row.headers, headersSealed: row.headers_sealed };
        await tx`
          UPDATE endpoints SET url = ${url.url}, url_query_sealed = ${url.urlQuerySealed},
                               headers = ${tx.json(headers.headers)}, headers_sealed = ${headers.headersSealed}
          WHERE id = ${row.id}`;
      }
      return rows.length;
    });
    changed += done;
    if (done < BATCH) return changed;
  }
}
