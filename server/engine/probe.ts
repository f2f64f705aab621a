import type { Sql, TransactionSql } from 'postgres';
import { badInput, notFound } from '../domain/errors.js';
import { PROBE_LEASE_MS, recordFailure, type BreakerState } from '../domain/circuitBreaker.js';
import { CHANNELS, notifyIds, notifyJson, type EndpointChanged, type EndpointHealthChange } from '../db/notifications.js';
import type { AttemptRecord } from '../db/repos/attempts.js';
import type { Logger } from '../logger.js';
import type { DeliveryJobs } from '../db/repos/deliveryJobs.js';
import type { TestEventContent } from './testSender.js';

/** Beyond the endpoint's timeout, how long the worker gets to reload, lease the probe and record it. */
const WORKER_MARGIN_MS = 10_000;
const POLL_MS = 200;
/** Worker clocks may trail the database's a little: attempts this much older still count. */
const CLOCK_SLACK_MS = 2_000;

interface EndpointBreakerRow {
  id: string;
  org_id: string;
  active: boolean;
  timeout_ms: number;
  circuit_state: BreakerState['state'];
  circuit_open_until: Date | null;
  circuit_opened_at: Date | null;
  circuit_cooldown_seconds: number | null;
  consecutive_failures: number;
  breaker_enabled: boolean;
  breaker_failure_threshold: number;
  breaker_cooldown_seconds: number;
  now: Date;
}

export interface ProbeDeps {
  sql: Sql;
  jobs: Pick<DeliveryJobs, 'nextDue' | 'makeDeferredDue'>;
  sendTestEvent: (orgId: string, endpointId: string, sentBy: string, content?: TestEventContent) => Promise<AttemptRecord>;
  log: Logger;
  /** Test hook: how long to wait for the worker beyond the endpoint timeout. */
  workerMarginMs?: number;
}

/**
 * `probeEndpoint`: the half-open probe of an endpoint whose circuit is open, now instead of after
 * the cooldown. It changes nothing in the worker; it asks the worker that owns the endpoint
 * through the database, as every settings change does:
 *
 * - When a delivery is due in the endpoint's backlog, the cooldown is ended (`circuit_open_until
 *   = now()`) and `endpointChanged` is sent: the owning worker reloads the breaker, its gate turns
 *   the next due delivery into the probe (HALF_OPEN, one request), and the outcome closes the
 *   circuit (the backlog drains) or reopens it with a doubled cooldown, as for any probe. The
 *   mutation waits for that attempt to be recorded (bounded by the endpoint timeout and a margin).
 * - When nothing is due (no backlog, or only retries scheduled for later), or no worker took the
 *   probe in time, the api sends a `webhook.test` request itself, holding the breaker HALF_OPEN
 *   in the database meanwhile, and writes the outcome: CLOSED on success (and the workers are
 *   woken so the backlog drains), OPEN with a doubled cooldown on failure.
 *
 * A probe already in flight (HALF_OPEN) is joined: the caller gets its attempt.
 */
export function createProber(deps: ProbeDeps) {
  const { sql, log } = deps;
  const marginMs = deps.workerMarginMs ?? WORKER_MARGIN_MS;

  async function load(orgId: string, endpointId: string): Promise<EndpointBreakerRow> {
    const [row] = await sql<EndpointBreakerRow[]>`
      SELECT id, org_id, active, timeout_ms, circuit_state, circuit_open_until, circuit_opened_at, circuit_cooldown_seconds,
             consecutive_failures, breaker_enabled, breaker_failure_threshold, breaker_cooldown_seconds, now() AS now
      FROM endpoints WHERE id = ${endpointId} AND org_id = ${orgId} AND deleted_at IS NULL`;
    if (!row) throw notFound('endpoint', endpointId);
    return row;
  }

  async function announce(tx: Sql | TransactionSql, row: Pick<EndpointBreakerRow, 'id' | 'org_id' | 'active'>, circuitState: BreakerState['state'], reason: string): Promise<void> {
    const changed: EndpointChanged = { orgId: row.org_id, endpointId: row.id };
    const health: EndpointHealthChange = {
      orgId: row.org_id,
      endpointId: row.id,
      circuitState,
      active: row.active,
      disabledReason: null,
      reason,
      at: new Date().toISOString(),
    };
    await notifyJson(tx, CHANNELS.endpointChanged, [changed]);
    await notifyJson(tx, CHANNELS.endpointHealth, [health]);
  }

  /**
   * The first attempt to the endpoint that started at or after `since` (and is not among
   * `known`, recorded before the probe was asked for), waiting until `deadline`.
   */
  async function nextAttempt(
    endpointId: string,
    since: Date,
    deadlineMs: number,
    options: { includeTests: boolean; known?: string[]; finishedAfter?: Date },
  ): Promise<string | null> {
    const known = options.known ?? [];
    for (;;) {
      const [found] = await sql<{ id: string }[]>`
        SELECT id FROM delivery_attempts
        WHERE endpoint_id = ${endpointId} AND started_at >= ${since} AND id <> ALL(${known}::text[])
          ${options.includeTests ? sql`` : sql`AND trigger <> 'TEST'`}
          ${options.finishedAfter ? sql`AND started_at + duration_ms * interval '1 millisecond' >= ${options.finishedAfter}` : sql``}
        ORDER BY started_at LIMIT 1`;
      if (found) return found.id;
      if (Date.now() >= deadlineMs) return null;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /**
   * Ends the cooldown so the owning worker's gate sends the probe. Answers when that was, and the
   * attempts recorded shortly before (the failures that opened the circuit, which must not be
   * taken for the probe's outcome); null if the circuit is no longer open.
   */
  async function askWorker(row: EndpointBreakerRow, requestedBy: string): Promise<{ at: Date; known: string[] } | null> {
    return sql.begin(async (tx) => {
      const [updated] = await tx<{ now: Date }[]>`
        UPDATE endpoints SET circuit_open_until = now()
        WHERE id = ${row.id} AND circuit_state = 'OPEN' AND active
        RETURNING now() AS now`;
      if (!updated) return null;
      const known = await tx<{ id: string }[]>`
        SELECT id FROM delivery_attempts WHERE endpoint_id = ${row.id} AND started_at >= ${new Date(updated.now.getTime() - CLOCK_SLACK_MS)}`;
      await announce(tx, row, 'OPEN', `Probe requested by "${requestedBy}"`);
      return { at: updated.now, known: known.map((k) => k.id) };
    });
  }

  /** Holds the breaker HALF_OPEN for a probe sent here; null when someone else holds it (or it closed). */
  async function claim(row: EndpointBreakerRow): Promise<EndpointBreakerRow | null> {
    const [claimed] = await sql<EndpointBreakerRow[]>`
      UPDATE endpoints SET circuit_state = 'HALF_OPEN', circuit_open_until = now() + make_interval(secs => ${PROBE_LEASE_MS / 1000})
      WHERE id = ${row.id} AND active
        AND (circuit_state = 'OPEN' OR (circuit_state = 'HALF_OPEN' AND circuit_open_until <= now()))
      RETURNING id, org_id, active, timeout_ms, circuit_state, circuit_open_until, circuit_opened_at, circuit_cooldown_seconds,
                consecutive_failures, breaker_enabled, breaker_failure_threshold, breaker_cooldown_seconds, now() AS now`;
    return claimed ?? null;
  }

  /**
   * After a probe closed the circuit before its cooldown ended: jobs the breaker deferred to that
   * end (fetched as it opened) go now, with the rest of the backlog.
   */
  async function releaseDeferred(endpointId: string, deferredUntil: Date | null): Promise<void> {
    if (!deferredUntil) return;
    await sql.begin(async (tx) => {
      if ((await deps.jobs.makeDeferredDue(tx, endpointId, deferredUntil)) > 0) await notifyIds(tx, CHANNELS.wake, [endpointId]);
    });
  }

  /** Sends the probe from here and writes its outcome to the breaker (`deferredUntil`: the cooldown end it cut short). */
  async function probeDirectly(row: EndpointBreakerRow, requestedBy: string, deferredUntil: Date | null): Promise<AttemptRecord> {
    await announce(sql, row, 'HALF_OPEN', `Probe sent by "${requestedBy}"`);
    let attempt: AttemptRecord;
    try {
      attempt = await deps.sendTestEvent(row.org_id, row.id, requestedBy, {
        type: 'webhook.test',
        data: {
          message: 'Circuit breaker probe: if this request succeeds, the circuit closes and the waiting deliveries are sent.',
          endpointId: row.id,
          sentBy: requestedBy,
          probe: true,
        },
      });
    } catch (err) {
      // Nothing was recorded: hand the probe back to the worker (due now) rather than wait a lease.
      await sql`UPDATE endpoints SET circuit_state = 'OPEN', circuit_open_until = now() WHERE id = ${row.id} AND circuit_state = 'HALF_OPEN'`;
      await announce(sql, row, 'OPEN', 'Probe could not be sent');
      throw err;
    }
    await sql.begin(async (tx) => {
      if (attempt.succeeded) {
        const closed = await tx`
          UPDATE endpoints SET circuit_state = 'CLOSED', consecutive_failures = 0, circuit_opened_at = NULL,
                 circuit_open_until = NULL, circuit_cooldown_seconds = NULL
          WHERE id = ${row.id} AND circuit_state = 'HALF_OPEN'`;
        if (closed.count === 0) return;
        await announce(tx, row, 'CLOSED', `Probe by "${requestedBy}" succeeded`);
        if (deferredUntil) await deps.jobs.makeDeferredDue(tx, row.id, deferredUntil);
        await notifyIds(tx, CHANNELS.wake, [row.id]);
        return;
      }
      const state: BreakerState = {
        state: 'HALF_OPEN',
        consecutiveFailures: row.consecutive_failures,
        openedAtMs: row.circuit_opened_at?.getTime() ?? null,
        openUntilMs: row.circuit_open_until?.getTime() ?? null,
        currentCooldownSeconds: row.circuit_cooldown_seconds,
      };
      // Disabling after 5 days open stays the worker's decision (it publishes webhook.endpoint.disabled).
      const next = recordFailure(
        state,
        { enabled: true, failureThreshold: row.breaker_failure_threshold, cooldownSeconds: row.breaker_cooldown_seconds },
        Date.now(),
      ).state;
      const reopened = await tx`
        UPDATE endpoints SET circuit_state = ${next.state}, consecutive_failures = ${next.consecutiveFailures},
               circuit_opened_at = ${next.openedAtMs === null ? null : new Date(next.openedAtMs)},
               circuit_open_until = ${next.openUntilMs === null ? null : new Date(next.openUntilMs)},
               circuit_cooldown_seconds = ${next.currentCooldownSeconds}
        WHERE id = ${row.id} AND circuit_state = 'HALF_OPEN'`;
      if (reopened.count > 0) await announce(tx, row, next.state, `Probe by "${requestedBy}" failed`);
    });
    return attempt;
  }

  function leaseActive(row: EndpointBreakerRow): boolean {
    return row.circuit_state === 'HALF_OPEN' && row.circuit_open_until !== null && row.circuit_open_until > row.now;
  }

  /** A probe is in flight (the worker's, or another caller's): its outcome is the answer. */
  async function joinProbe(row: EndpointBreakerRow): Promise<string> {
    const leaseEndMs = row.circuit_open_until!.getTime();
    const leaseStart = new Date(leaseEndMs - PROBE_LEASE_MS);
    const since = new Date(leaseStart.getTime() - CLOCK_SLACK_MS);
    // The failures that opened the circuit ended before the probe's lease began; the probe ends after.
    const id = await nextAttempt(row.id, since, Date.now() + (leaseEndMs - row.now.getTime()) + marginMs, { includeTests: true, finishedAfter: leaseStart });
    if (id) return id;
    throw new Error(`probe of endpoint ${row.id} in flight since ${since.toISOString()} recorded no attempt`);
  }

  /** Probes the endpoint now; answers the attempt id of the probe. */
  return async function probeEndpoint(orgId: string, endpointId: string, requestedBy: string): Promise<string> {
    const row = await load(orgId, endpointId);
    if (!row.active) {
      throw badInput('This endpoint is paused or disabled: nothing is sent to it. Resume it instead (resuming also closes its circuit).', 'id');
    }
    if (row.circuit_state === 'CLOSED') {
      throw badInput('The circuit of this endpoint is closed: deliveries are flowing and there is nothing to probe. Use "Send test event" to try the endpoint now.', 'id');
    }
    const budgetMs = row.timeout_ms + marginMs;
    if (leaseActive(row)) return joinProbe(row);

    const due = (await deps.jobs.nextDue([row.id])).get(row.id);
    if (due && due.getTime() <= row.now.getTime() && row.circuit_state === 'OPEN') {
      const requested = await askWorker(row, requestedBy);
      if (requested) {
        const since = new Date(requested.at.getTime() - CLOCK_SLACK_MS);
        const id = await nextAttempt(row.id, since, Date.now() + budgetMs, { includeTests: false, known: requested.known });
        if (id) {
          const [probe] = await sql<{ succeeded: boolean }[]>`SELECT succeeded FROM delivery_attempts WHERE id = ${id}`;
          if (probe?.succeeded) await releaseDeferred(row.id, row.circuit_open_until);
          return id;
        }
        log.warn({ endpointId: row.id }, 'no worker sent the requested probe in time; probing from the api');
      }
    }

    const claimed = await claim(row);
    if (!claimed) {
      // The circuit closed meanwhile, or a probe started elsewhere: report that probe.
      const current = await load(orgId, endpointId);
      if (leaseActive(current)) return joinProbe(current);
      throw badInput(`The circuit changed while the probe was being requested (it is ${current.circuit_state} now); look at the endpoint again.`, 'id');
    }
    return (await probeDirectly(claimed, requestedBy, row.circuit_state === 'OPEN' ? row.circuit_open_until : null)).id;
  };
}
export type ProbeEndpoint = ReturnType<typeof createProber>;
