import type { Sql, TransactionSql } from 'postgres';

type Executor = Sql | TransactionSql;

/** One delivery attempt as stored (SPEC §6 "Attempts record"). */
export interface AttemptRecord {
  id: string;
  orgId: string;
  deliveryId: string;
  endpointId: string;
  eventType: string;
  attemptNumber: number;
  trigger: 'SCHEDULED' | 'MANUAL' | 'TEST';
  startedAt: Date;
  durationMs: number;
  succeeded: boolean;
  requestHeaders: Record<string, string>;
  responseStatus: number | null;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
  errorClass: string | null;
  errorMessage: string | null;
}

/** The delivery row after an attempt. */
export interface DeliveryUpdate {
  id: string;
  status: 'PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED';
  attemptCount: number;
  nextAttemptAt: Date | null;
  lastAttemptAt: Date;
  lastAttemptId: string;
  completedAt: Date | null;
}

/** Inserts attempts in one statement (the worker records hundreds per transaction). */
export async function insertAttempts(sql: Executor, attempts: AttemptRecord[]): Promise<void> {
  if (attempts.length === 0) return;
  const col = <K extends keyof AttemptRecord>(k: K) => attempts.map((a) => a[k]);
  await sql`
    INSERT INTO delivery_attempts (id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at,
      duration_ms, succeeded, request_headers, response_status, response_headers, response_body, error_class, error_message)
    SELECT x.id, x.org_id, x.delivery_id, x.endpoint_id, x.event_type, x.attempt_number, x.trigger::attempt_trigger, x.started_at,
      x.duration_ms, x.succeeded, x.request_headers::jsonb, x.response_status, x.response_headers::jsonb, x.response_body,
      x.error_class::error_class, x.error_message
    FROM unnest(${col('id')}::text[], ${col('orgId')}::text[], ${col('deliveryId')}::text[], ${col('endpointId')}::text[],
      ${col('eventType')}::text[], ${col('attemptNumber')}::int[], ${col('trigger')}::text[],
      ${attempts.map((a) => a.startedAt.toISOString())}::timestamptz[], ${col('durationMs')}::int[], ${attempts.map((a) => (a.succeeded ? 't' : 'f'))}::text[]::bool[],
      ${attempts.map((a) => JSON.stringify(a.requestHeaders))}::text[], ${col('responseStatus') as number[]}::int[],
      ${attempts.map((a) => (a.responseHeaders ? JSON.stringify(a.responseHeaders) : null)) as string[]}::text[],
      ${attempts.map((a) => (a.responseBody === null ? null : stripNul(a.responseBody))) as string[]}::text[],
      ${col('errorClass') as string[]}::text[], ${col('errorMessage') as string[]}::text[])
    AS x(id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at, duration_ms, succeeded,
         request_headers, response_status, response_headers, response_body, error_class, error_message)`;
}

/** Applies delivery updates in one statement. */
export async function updateDeliveries(sql: Executor, updates: DeliveryUpdate[]): Promise<void> {
  if (updates.length === 0) return;
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  await sql`
    UPDATE deliveries d SET
      status = x.status::delivery_status,
      attempt_count = x.attempt_count,
      next_attempt_at = x.next_attempt_at,
      last_attempt_at = x.last_attempt_at,
      last_attempt_id = x.last_attempt_id,
      completed_at = x.completed_at,
      parked = false
    FROM unnest(${updates.map((u) => u.id)}::text[], ${updates.map((u) => u.status)}::text[], ${updates.map((u) => u.attemptCount)}::int[],
      ${updates.map((u) => iso(u.nextAttemptAt)) as string[]}::timestamptz[], ${updates.map((u) => iso(u.lastAttemptAt)) as string[]}::timestamptz[],
      ${updates.map((u) => u.lastAttemptId)}::text[], ${updates.map((u) => iso(u.completedAt)) as string[]}::timestamptz[])
    AS x(id, status, attempt_count, next_attempt_at, last_attempt_at, last_attempt_id, completed_at)
    WHERE d.id = x.id`;
}

// postgres.js mis-serialises boolean arrays, so booleans travel as 't'/'f' text.

/** Postgres text cannot hold NUL; a binary response body keeps everything else. */
function stripNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
}
