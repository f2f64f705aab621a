import type { Sql } from 'postgres';
import type { ApiKeyRole } from '../../domain/roles.js';

/** A portal session as authentication needs it. */
export interface PortalSessionAuth {
  id: string;
  orgId: string;
  orgName: string;
  plan: 'enterprise' | 'professional' | 'starter';
  role: ApiKeyRole;
  labels: string[] | null;
  displayName: string | null;
  accentColor: string | null;
  expiresAt: Date;
  revokedAt: Date | null;
}

const AUTH_COLUMNS = `s.id, s.org_id AS "orgId", o.name AS "orgName", o.plan, s.role, s.labels, s.display_name AS "displayName",
  s.accent_color AS "accentColor", s.expires_at AS "expiresAt", s.revoked_at AS "revokedAt"`;

/** Portal sessions: only hashes of their link and session tokens are stored. */
export function createPortalSessionsRepo(sql: Sql) {
  return {
    async insert(row: {
      id: string;
      orgId: string;
      role: ApiKeyRole;
      labels: string[] | null;
      displayName: string | null;
      accentColor: string | null;
      linkHash: string;
      createdByKeyId: string;
      expiresAt: Date;
    }): Promise<void> {
      await sql`
        INSERT INTO portal_sessions (id, org_id, role, labels, display_name, accent_color, link_hash, created_by_key_id, expires_at)
        VALUES (${row.id}, ${row.orgId}, ${row.role}, ${row.labels}, ${row.displayName}, ${row.accentColor}, ${row.linkHash}, ${row.createdByKeyId}, ${row.expiresAt})`;
    },

    /** Trades a one-time link for a session token: the link works once, before expiry, unless revoked. */
    async exchange(linkHash: string, sessionHash: string): Promise<PortalSessionAuth | null> {
      const [row] = await sql.unsafe<PortalSessionAuth[]>(
        `WITH s AS (
           UPDATE portal_sessions SET link_hash = NULL, session_hash = $2, exchanged_at = now()
           WHERE link_hash = $1 AND revoked_at IS NULL AND expires_at > now()
           RETURNING *)
         SELECT ${AUTH_COLUMNS} FROM s JOIN organizations o ON o.id = s.org_id`,
        [linkHash, sessionHash],
      );
      return row ?? null;
    },

    async findBySessionHash(sessionHash: string): Promise<PortalSessionAuth | null> {
      const [row] = await sql.unsafe<PortalSessionAuth[]>(
        `SELECT ${AUTH_COLUMNS} FROM portal_sessions s JOIN organizations o ON o.id = s.org_id WHERE s.session_hash = $1`,
        [sessionHash],
      );
      return row ?? null;
    },

    /** Revokes every unexpired session of the organization; returns how many. */
    async revokeAll(orgId: string): Promise<number> {
      const result = await sql`UPDATE portal_sessions SET revoked_at = now(), link_hash = NULL WHERE org_id = ${orgId} AND revoked_at IS NULL AND expires_at > now()`;
      return result.count;
    },

    /** Organizations with sessions revoked since `since` (catching up after a missed notification). */
    async orgsRevokedSince(since: Date): Promise<{ at: Date; orgIds: string[] }> {
      const [row] = await sql<{ at: Date; org_ids: string[] }[]>`
        SELECT now() AS at, ARRAY(SELECT DISTINCT org_id FROM portal_sessions WHERE revoked_at >= ${since}::timestamptz - interval '1 minute') AS org_ids`;
      return { at: row!.at, orgIds: row!.org_ids };
    },
  };
}
export type PortalSessionsRepo = ReturnType<typeof createPortalSessionsRepo>;
