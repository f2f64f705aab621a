import type { TransactionSql } from 'postgres';
import { inTransaction, type Database } from '../db/client.js';
import { createApiKeysRepo } from '../db/repos/apiKeys.js';
import type { ApiKeyRow } from '../db/schema.js';
import { badInput, notFound } from '../domain/errors.js';
import type { ApiKeyRole } from '../domain/roles.js';
import { newId } from '../crypto/random.js';
import type { Publisher } from '../engine/publish.js';
import { CHANNELS } from '../db/notifications.js';
import { generateApiKey } from './apiKeyTokens.js';
import type { Viewer } from './auth.js';

/**
 * Creates an API key and publishes `security.api_key.created` in the same transaction, so a key
 * never exists without its audit event. The key itself is returned once and never stored.
 */
export async function issueApiKey(
  tx: TransactionSql,
  publisher: Publisher,
  params: { orgId: string; role: ApiKeyRole; name: string; createdBy: string | null },
): Promise<{ apiKey: ApiKeyRow; key: string }> {
  const name = params.name.trim();
  if (!name || name.length > 100) throw badInput('API key name must be 1 to 100 characters.', 'name');
  const generated = generateApiKey();
  const [row] = await tx<ApiKeyRow[]>`
    INSERT INTO api_keys (id, org_id, name, role, key_hash, key_prefix)
    VALUES (${newId('apiKey')}, ${params.orgId}, ${name}, ${params.role}, ${generated.hash}, ${generated.prefix})
    RETURNING id, org_id AS "orgId", name, role, key_hash AS "keyHash", key_prefix AS "keyPrefix",
              created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"`;
  const apiKey = row!;
  await publisher.publish(
    params.orgId,
    [
      {
        type: 'security.api_key.created',
        data: { apiKeyId: apiKey.id, name: apiKey.name, role: apiKey.role, keyPrefix: apiKey.keyPrefix, createdBy: params.createdBy },
      },
    ],
    () => '',
    tx,
  );
  return { apiKey, key: generated.key };
}

/** API key management for admins. */
export function createApiKeyService(deps: {
  database: Database;
  publisher: Publisher;
  /** Drops a revoked key from this process's authentication cache at once. */
  onRevoked: (apiKeyId: string) => void;
}) {
  const repo = createApiKeysRepo(deps.database.db);

  return {
    list: repo.list,

    /** Creates a key (shown once) and publishes `security.api_key.created`. */
    create: (viewer: Viewer, input: { role: ApiKeyRole; name: string }) =>
      deps.database.sql.begin((tx) =>
        issueApiKey(tx, deps.publisher, { orgId: viewer.orgId, role: input.role, name: input.name, createdBy: viewer.apiKeyId }),
      ) as Promise<{ apiKey: ApiKeyRow; key: string }>,

    /** Revokes a key at once; refuses to revoke the organization's last admin key. */
    async revoke(viewer: Viewer, id: string): Promise<ApiKeyRow> {
      const revoked = await inTransaction(deps.database, async ({ db: tx, sql }) => {
        const existing = await repo.findForOrg(viewer.orgId, id);
        if (!existing) throw notFound('API key', id);
        if (existing.revokedAt) return existing;
        if (existing.role === 'admin' && (await repo.countActiveAdmins(viewer.orgId, tx)) <= 1) {
          throw badInput('This is the last admin key of the organization; create another admin key before revoking it.', 'id');
        }
        const row = (await repo.revoke(viewer.orgId, id, tx))!;
        // Every process drops the key from its authentication cache (see services/auth.ts).
        await sql`SELECT pg_notify(${CHANNELS.apiKeyRevoked}, ${row.id})`;
        return row;
      });
      deps.onRevoked(revoked.id);
      return revoked;
    },
  };
}
export type ApiKeyService = ReturnType<typeof createApiKeyService>;
