import type { Sql, TransactionSql } from 'postgres';
import type { AttemptRecord } from './repos/attempts.js';

/**
 * Cross-process signals over Postgres LISTEN/NOTIFY. Payloads stay small and never carry event
 * data or secrets: ids and summary fields only; listeners fetch details on demand.
 */
export const CHANNELS = {
  /** Endpoints with new due jobs (see wakePayloads): wakes the worker owning them. */
  wake: 'webhooks_wake',
  /** An endpoint's settings, keys or subscriptions changed (JSON EndpointChanged). */
  endpointChanged: 'webhooks_endpoint_changed',
  /** Attempts just recorded (JSON AttemptSummary[]). */
  attempts: 'webhooks_attempts',
  /** An API key was revoked (its id): every process drops it from its authentication cache. */
  apiKeyRevoked: 'webhooks_api_key_revoked',
  /** Breaker or enable/disable changes (JSON EndpointHealthChange[]). */
  endpointHealth: 'webhooks_endpoint_health',
  /** An organization's plan changed (its id): every process forgets the keys it cached for it. */
  organizationChanged: 'webhooks_organization_changed',
  /** Every portal session of an organization was revoked (its id): processes drop them and close their sockets. */
  portalSessionsRevoked: 'webhooks_portal_sessions_revoked',
} as const;

export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];

export interface EndpointChanged {
  orgId: string;
  endpointId: string;
  /** True when the endpoint was deleted. */
  deleted?: boolean;
}

/** What a live attempt stream needs to render a row without another query. */
export interface AttemptSummary {
  id: string;
  orgId: string;
  deliveryId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  attemptNumber: number;
  trigger: 'SCHEDULED' | 'MANUAL' | 'TEST';
  startedAt: string;
  durationMs: number;
  succeeded: boolean;
  responseStatus: number | null;
  errorClass: string | null;
  /** Absent when longer than SUMMARY_ERROR_MESSAGE_CHARS: live streams then read the stored attempt. */
  errorMessage?: string | null;
  /** Status of the delivery after this attempt. */
  deliveryStatus: 'PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED';
  /** When the attempt was recorded (ms since epoch), to measure live latency. */
  recordedAtMs: number;
}

/**
 * Longest error message a summary carries. Ours are one line (status, timeout, refused...), so
 * live streams almost never query for them; a long TLS or DNS diagnosis stays out of the payload.
 */
export const SUMMARY_ERROR_MESSAGE_CHARS = 300;

/** The summary of an attempt just made (`recordedAtMs` is stamped when the batch is written). */
export function summarizeAttempt(
  attempt: AttemptRecord,
  delivery: { eventId: string; status: AttemptSummary['deliveryStatus'] },
  recordedAtMs = 0,
): AttemptSummary {
  const message = attempt.errorMessage;
  return {
    id: attempt.id,
    orgId: attempt.orgId,
    deliveryId: attempt.deliveryId,
    endpointId: attempt.endpointId,
    eventId: delivery.eventId,
    eventType: attempt.eventType,
    attemptNumber: attempt.attemptNumber,
    trigger: attempt.trigger,
    startedAt: attempt.startedAt.toISOString(),
    durationMs: attempt.durationMs,
    succeeded: attempt.succeeded,
    responseStatus: attempt.responseStatus,
    errorClass: attempt.errorClass,
    ...(message === null || message.length <= SUMMARY_ERROR_MESSAGE_CHARS ? { errorMessage: message } : {}),
    deliveryStatus: delivery.status,
    recordedAtMs,
  };
}

export interface EndpointHealthChange {
  orgId: string;
  endpointId: string;
  circuitState: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  active: boolean;
  disabledReason: string | null;
  reason: string;
  at: string;
}

/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7900;

/** `ids` as comma-separated payloads under the size limit. */
export function idPayloads(ids: Iterable<string>): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const id of ids) {
    if (current.length + id.length + 1 > MAX_PAYLOAD_BYTES) {
      chunks.push(current);
      current = '';
    }
    current = current ? `${current},${id}` : id;
  }
  if (current) chunks.push(current);
  return chunks;
}

/** JSON records as JSON-array payloads, as few as the size limit allows. */
export function jsonPayloads(records: unknown[]): string[] {
  const payloads: string[] = [];
  let batch: string[] = [];
  let size = 2;
  for (const record of records) {
    const text = JSON.stringify(record);
    if (text.length + 2 > MAX_PAYLOAD_BYTES) continue; // never happens for our summary records
    if (size + text.length + 1 > MAX_PAYLOAD_BYTES) {
      payloads.push(`[${batch.join(',')}]`);
      batch = [];
      size = 2;
    }
    batch.push(text);
    size += text.length + 1;
  }
  if (batch.length) payloads.push(`[${batch.join(',')}]`);
  return payloads;
}

/** Sends each payload on `channel`, all in one statement. */
async function notifyPayloads(sql: Sql | TransactionSql, channel: Channel, payloads: string[]): Promise<void> {
  if (payloads.length === 0) return;
  await sql`SELECT count(pg_notify(${channel}, p)) FROM unnest(${payloads}::text[]) AS p`;
}

/** Sends `ids` on `channel` as comma-separated chunks under the payload limit. */
export async function notifyIds(sql: Sql | TransactionSql, channel: Channel, ids: Iterable<string>): Promise<void> {
  await notifyPayloads(sql, channel, idPayloads(ids));
}

/**
 * A wake-up names endpoints (comma-separated ids) and, when its sender knows it, the earliest due
 * time of the jobs it announces, as `@<epoch ms>,` before the ids: a worker's leases of those
 * endpoints then start walking their due jobs no later than that (worker/pickFloor.ts). A wake-up
 * without it (a plan change, an operator's retry, discovery) makes the next lease walk them all.
 */
export function wakePayloads(ids: Iterable<string>, dueMs: number | null): string[] {
  const payloads = idPayloads(ids);
  return dueMs === null ? payloads : payloads.map((p) => `@${Math.floor(dueMs)},${p}`);
}

/** SQL text: a timestamptz expression as epoch milliseconds (text), floored as wake-ups announce them. */
export function epochMsSql(timestampSql: string): string {
  return `floor(extract(epoch FROM ${timestampSql}) * 1000)::bigint::text`;
}

/** The SQL text of a wake-up stamp for jobs due from `dueSql` on (a timestamptz expression); see wakePayloads. */
export function wakeStampSql(dueSql: string): string {
  return `'@' || ${epochMsSql(dueSql)} || ','`;
}

/** The endpoints of a wake-up and the earliest due time it announces (null: not said). */
export function parseWakePayload(payload: string): { ids: string[]; dueMs: number | null } {
  const parts = payload.split(',');
  if (!parts[0]?.startsWith('@')) return { ids: parts, dueMs: null };
  const dueMs = Number(parts[0].slice(1));
  return { ids: parts.slice(1), dueMs: Number.isFinite(dueMs) ? dueMs : null };
}

/**
 * Wakes the workers owning `ids` for jobs written in this transaction: due at its start (now()),
 * or at `earliest` when some are due before that (a retry due already when recorded).
 */
export async function notifyWakeFromNow(tx: Sql | TransactionSql, ids: Iterable<string>, earliest: Date | null = null): Promise<void> {
  const payloads = idPayloads(ids);
  if (payloads.length === 0) return;
  await tx.unsafe(
    `SELECT count(pg_notify('${CHANNELS.wake}', ${wakeStampSql('least(now(), coalesce($2::timestamptz, now()))')} || p)) FROM unnest($1::text[]) AS p`,
    [payloads, earliest?.toISOString() ?? null] as never[],
  );
}

/**
 * Wake-ups of the workers, sent after the publisher's commit instead of inside it, coalesced:
 * while one statement is in flight, endpoint ids gather and go out together in the next, so a
 * hundred publishes a second cost a few statements.
 *
 * Why after: Postgres serializes every committing transaction that NOTIFYed behind one
 * cluster-wide lock, held until its commit is done, WAL flush included. A durable publish that
 * NOTIFYs makes every other notifier (the workers' attempt records, which feed the live streams)
 * wait for its fsync, and publishes that NOTIFY cannot share an fsync (measured here: 8
 * connections committing one-row inserts, 7,100–9,700 commits/s alone, 4,200/s each with a
 * NOTIFY). A transaction that only notifies writes nothing but its commit record and does not
 * wait for a flush. `send` never throws and never waits: a failed wake-up is reported, and the
 * worker's discovery finds the jobs anyway.
 */
export function createWakeSender(sql: Sql, onError: (err: Error) => void) {
  let pending = new Set<string>();
  // The earliest due time among the pending ones: one stamp covers every id sent together.
  let pendingDueMs = Number.POSITIVE_INFINITY;
  let inFlight: Promise<void> | null = null;

  async function drain(): Promise<void> {
    while (pending.size > 0) {
      const ids = pending;
      const dueMs = pendingDueMs;
      pending = new Set();
      pendingDueMs = Number.POSITIVE_INFINITY;
      try {
        await notifyPayloads(sql, CHANNELS.wake, wakePayloads(ids, dueMs));
      } catch (err) {
        onError(err as Error);
      }
    }
    inFlight = null;
  }

  return {
    /** Wakes the workers of `endpointIds` for jobs due from `dueMs` on (epoch ms, the database's clock). */
    send(endpointIds: Iterable<string>, dueMs: number): void {
      for (const id of endpointIds) pending.add(id);
      if (pending.size === 0) return;
      pendingDueMs = Math.min(pendingDueMs, dueMs);
      if (!inFlight) inFlight = drain();
    },
    /** Resolves once everything sent so far has gone out (or failed). */
    settled(): Promise<void> {
      return inFlight ?? Promise.resolve();
    },
  };
}
export type WakeSender = ReturnType<typeof createWakeSender>;

/** Sends a list of JSON records on `channel`, as many notifications as the size limit needs. */
export async function notifyJson(sql: Sql | TransactionSql, channel: Channel, records: unknown[]): Promise<void> {
  await notifyPayloads(sql, channel, jsonPayloads(records));
}

/** Parses a JSON-array notification payload; malformed payloads yield nothing. */
export function parseJsonPayload<T>(payload: string): T[] {
  try {
    const parsed = JSON.parse(payload) as unknown;
    return Array.isArray(parsed) ? (parsed as T[]) : [parsed as T];
  } catch {
    return [];
  }
}
