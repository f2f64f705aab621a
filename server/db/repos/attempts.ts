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
  /** The body as sent when a transformation changed it; null: the envelope of the event. */
  requestBody: string | null;
}

/** The delivery row after an attempt. */
export interface DeliveryUpdate {
  id: string;
  status: 'PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED';
  attemptCount: number;
  nextAttemptAt: Date | null;
  /** Null leaves the delivery's last attempt as it was (cancelled by a transformation: nothing tried). */
  lastAttemptAt: Date | null;
  lastAttemptId: string | null;
  completedAt: Date | null;
}

/**
 * Attempts and delivery updates travel to Postgres as ONE JSON document each (`$n::text::jsonb`,
 * then jsonb_to_recordset): JSON.stringify is native, while text arrays make postgres.js escape
 * every quote of every header object in JavaScript, and make Postgres parse each JSON twice.
 */
export function attemptsJson(attempts: AttemptRecord[]): string {
  return JSON.stringify(
    attempts.map((a) => ({
      id: a.id,
      org_id: a.orgId,
      delivery_id: a.deliveryId,
      endpoint_id: a.endpointId,
      event_type: a.eventType,
      attempt_number: a.attemptNumber,
      trigger: a.trigger,
      started_at: a.startedAt,
      duration_ms: a.durationMs,
      succeeded: a.succeeded,
      request_headers: a.requestHeaders,
      response_status: a.responseStatus,
      response_headers: a.responseHeaders,
      response_body: a.responseBody === null ? null : stripNul(a.responseBody),
      error_class: a.errorClass,
      error_message: a.errorMessage === null ? null : stripNul(a.errorMessage),
      request_body: a.requestBody === null ? null : stripNul(a.requestBody),
    })),
  );
}

/** The INSERT of attempts from the JSON document in parameter `param` (e.g. `$1`). */
export function insertAttemptsSql(param: string): string {
  return `INSERT INTO delivery_attempts (id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at,
      duration_ms, succeeded, request_headers, response_status, response_headers, response_body, error_class, error_message, request_body)
    SELECT x.id, x.org_id, x.delivery_id, x.endpoint_id, x.event_type, x.attempt_number, x.trigger::attempt_trigger, x.started_at,
      x.duration_ms, x.succeeded, x.request_headers, x.response_status, x.response_headers, x.response_body,
      x.error_class::error_class, x.error_message, x.request_body
    FROM jsonb_to_recordset(${param}::text::jsonb) AS x(id text, org_id text, delivery_id text, endpoint_id text, event_type text,
      attempt_number int, trigger text, started_at timestamptz, duration_ms int, succeeded bool, request_headers jsonb,
      response_status int, response_headers jsonb, response_body text, error_class text, error_message text, request_body text)`;
}

/**
 * Delivery updates as ONE JSON object keyed by delivery id: the UPDATE looks each row's values up
 * by key (updateDeliveriesSql), so no join between the updates and the table is planned.
 */
export function deliveryUpdatesJson(updates: DeliveryUpdate[]): string {
  const byId: Record<string, unknown> = {};
  for (const u of updates) {
    byId[u.id] = {
      status: u.status,
      attempt_count: u.attemptCount,
      next_attempt_at: u.nextAttemptAt,
      last_attempt_at: u.lastAttemptAt,
      last_attempt_id: u.lastAttemptId,
      completed_at: u.completedAt,
    };
  }
  return JSON.stringify(byId);
}

/**
 * The UPDATE of deliveries from the JSON object in parameter `param`; `idsParam` holds the same
 * deliveries' ids as a text array.
 *
 * The rows are found by the ids alone (an index condition on the primary key, whatever the
 * statistics say: with a join instead, a table that grew faster than autovacuum analyzes was
 * believed tiny and scanned whole on every batch, 12 ms per statement). Each row then reads its
 * values from the object by key. A join of the rows to the updates (jsonb_to_recordset) was
 * planned as a nested loop whenever the statistics said few deliveries were PENDING (right after
 * an ANALYZE of a day of finished ones): 5,066 × 5,066 id comparisons, 2.65 s per batch of the
 * recorder instead of 0.39 s, half the throughput (docs/benchmarks.md, history scenario).
 */
export function updateDeliveriesSql(param: string, idsParam: string): string {
  const v = (key: string) => `(u.j -> d.id ->> '${key}')`;
  return `UPDATE deliveries d SET
      status = ${v('status')}::delivery_status,
      attempt_count = ${v('attempt_count')}::int,
      next_attempt_at = ${v('next_attempt_at')}::timestamptz,
      last_attempt_at = coalesce(${v('last_attempt_at')}::timestamptz, d.last_attempt_at),
      last_attempt_id = coalesce(${v('last_attempt_id')}, d.last_attempt_id),
      completed_at = ${v('completed_at')}::timestamptz,
      parked = false
    -- One row: the object parsed once (OFFSET 0 keeps it a subquery evaluated once).
    FROM (SELECT ${param}::text::jsonb AS j OFFSET 0) u
    WHERE d.id = ANY(${idsParam}::text[])
      -- Only a pending delivery moves on: one cancelled meanwhile (its endpoint deleted) stays
      -- cancelled; the attempt itself is still recorded. Compared as text so that no plan
      -- drives the update from the status index instead.
      AND d.status::text = 'PENDING'`;
}

/** Inserts attempts in one statement. */
export async function insertAttempts(sql: Executor, attempts: AttemptRecord[]): Promise<void> {
  if (attempts.length === 0) return;
  await sql.unsafe(insertAttemptsSql('$1'), [attemptsJson(attempts)], { prepare: true });
}

/** Applies delivery updates in one statement. */
export async function updateDeliveries(sql: Executor, updates: DeliveryUpdate[]): Promise<void> {
  if (updates.length === 0) return;
  await sql.unsafe(updateDeliveriesSql('$1', '$2'), [deliveryUpdatesJson(updates), sortedIds(updates)] as never[], { prepare: true });
}

/**
 * The updates' delivery ids in order: every writer of many delivery rows (this one, endpoint
 * deletion) then meets them in the same order and they cannot deadlock.
 */
export function sortedIds(updates: DeliveryUpdate[]): string[] {
  return updates.map((u) => u.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Postgres text cannot hold NUL (nor jsonb a \u0000): a binary response body keeps everything else. */
function stripNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
}
