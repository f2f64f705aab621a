/**
 * The bare ceiling's tables and statements (docs/benchmarks.md, "Why the ceiling is a bound"):
 * the least a durable, signed, recorded delivery needs, on plain tables with no index beyond
 * the one each statement walks.
 *
 * - publish (the load generator, like the system's publishEvents): one durable statement
 *   (synchronous_commit on) inserts the events, each stored as the exact body to send, and one
 *   job per event and endpoint;
 * - lease (the ceiling loop): one statement deletes the endpoint's oldest due jobs
 *   (`FOR UPDATE SKIP LOCKED`) and returns their bodies, inside a transaction held open while the
 *   requests are out: if the process dies the deletion rolls back and the jobs come back
 *   (at-least-once without a lease column to write);
 * - record: one multi-row insert of the attempts (and, for failures, the retry job) in that same
 *   transaction, committed with synchronous_commit off, as the system's worker records.
 */
import type { Sql } from 'postgres';

export const CEILING_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ceil_events (id text PRIMARY KEY, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS ceil_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint int NOT NULL,
    event_id text NOT NULL,
    attempt int NOT NULL DEFAULT 1,
    due timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX IF NOT EXISTS ceil_jobs_fifo ON ceil_jobs (endpoint, id);
  CREATE TABLE IF NOT EXISTS ceil_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id text NOT NULL,
    endpoint int NOT NULL,
    attempt int NOT NULL,
    started_at timestamptz NOT NULL,
    duration_ms int NOT NULL,
    succeeded boolean NOT NULL,
    response_status int,
    response_headers jsonb,
    response_body text,
    error text
  )`;

/** Publishes `bodies` (envelopes keyed by event id) to endpoints `first`..`first + count - 1`. */
export async function publishToCeiling(sql: Sql, events: { id: string; body: string }[], first: number, count: number): Promise<void> {
  await sql`
    WITH e AS (
      INSERT INTO ceil_events (id, body)
      SELECT * FROM unnest(${events.map((e) => e.id)}::text[], ${events.map((e) => e.body)}::text[])
      RETURNING id
    )
    INSERT INTO ceil_jobs (endpoint, event_id)
    SELECT ep, e.id FROM e CROSS JOIN generate_series(${first}::int, ${first + count - 1}::int) AS ep`;
}

export interface LeasedJob {
  job_id: string;
  event_id: string;
  attempt: number;
  body: string;
}

/** Deletes (within `tx`) up to `limit` due jobs of `endpoint`, oldest first, with their bodies. */
export function leaseCeilingJobs(tx: Sql, endpoint: number, limit: number): Promise<LeasedJob[]> {
  return tx<LeasedJob[]>`
    WITH leased AS (
      DELETE FROM ceil_jobs WHERE id IN (
        SELECT id FROM ceil_jobs WHERE endpoint = ${endpoint} AND due <= now() ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      RETURNING id, event_id, attempt
    )
    SELECT l.id AS job_id, l.event_id, l.attempt, e.body FROM leased l JOIN ceil_events e ON e.id = l.event_id`;
}

export interface CeilingAttempt {
  eventId: string;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  status: number | null;
  responseHeaders: string | null;
  responseBody: string | null;
  error: string | null;
}

/** Records the attempts (within `tx`); failed ones get their next job, due after `retryAfterSeconds`. */
export async function recordCeilingAttempts(tx: Sql, endpoint: number, attempts: CeilingAttempt[], retryAfterSeconds = 5): Promise<void> {
  const ok = attempts.map((a) => a.status !== null && a.status >= 200 && a.status < 300);
  // Every array goes as text and is cast in SQL: the loop's connection does not fetch Postgres's
  // array types, so postgres.js would send a Date[] or boolean[] typed as one scalar.
  const values = tx`
      SELECT x.e, ${endpoint}::int, x.a, x.s, x.d, x.ok, x.st, x.h::jsonb, x.b, x.err
      FROM unnest(
        ${attempts.map((a) => a.eventId)}::text[], ${attempts.map((a) => String(a.attempt))}::text[]::int[], ${attempts.map((a) => a.startedAt.toISOString())}::text[]::timestamptz[],
        ${attempts.map((a) => String(Math.round(a.durationMs)))}::text[]::int[], ${ok.map(String)}::text[]::bool[], ${attempts.map((a) => (a.status === null ? null : String(a.status)))}::text[]::int[],
        ${attempts.map((a) => a.responseHeaders)}::text[], ${attempts.map((a) => a.responseBody)}::text[], ${attempts.map((a) => a.error)}::text[]
      ) AS x(e, a, s, d, ok, st, h, b, err)`;
  const columns = tx`event_id, endpoint, attempt, started_at, duration_ms, succeeded, response_status, response_headers, response_body, error`;
  if (ok.every(Boolean)) {
    await tx`INSERT INTO ceil_attempts (${columns}) ${values}`;
    return;
  }
  await tx`
    WITH recorded AS (
      INSERT INTO ceil_attempts (${columns}) ${values}
      RETURNING event_id, attempt, succeeded
    )
    INSERT INTO ceil_jobs (endpoint, event_id, attempt, due)
    SELECT ${endpoint}, event_id, attempt + 1, now() + make_interval(secs => ${retryAfterSeconds}) FROM recorded WHERE NOT succeeded`;
}
