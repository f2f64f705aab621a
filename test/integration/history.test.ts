/**
 * History partitions: day partitions made ahead (and after days of downtime, taking back what
 * the DEFAULT partition caught), retention that drops whole partitions while carrying pending
 * deliveries (with their events, attempts and idempotency keys) over, and deliveries whose
 * payload retention purged: a clear error for a manual retry, a recorded DEAD attempt (nothing
 * sent) when a retry raced the purge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';
import { newId } from '../../server/crypto/random.js';
import { idLowerBound } from '../../server/domain/ids.js';
import { DAY_MS, partitionName, utcDayStart, type HistoryTable } from '../../server/domain/historyPartitions.js';
import { createHistoryMaintenance } from '../../server/engine/history.js';
import { createLogger } from '../../server/logger.js';

let service: TestService;
let receiver: Receiver;

beforeAll(async () => {
  // History kept 3 days, payloads 2: a day five days ago is past both.
  service = await startTestService({ WEBHOOKS_HISTORY_RETENTION_DAYS: '3', WEBHOOKS_RETENTION_DAYS: '2' });
  receiver = await startReceiver({ respond: (req) => ({ status: req.path === '/fails' ? 503 : 200 }) });
});
afterAll(async () => {
  await service?.close();
  await receiver?.close();
});

const TABLES: HistoryTable[] = ['events', 'deliveries', 'delivery_attempts'];
const names = async (table: HistoryTable) => (await service.engine.history.partitions.list(table)).partitions.map((p) => p.name);
const partitionOf = async (table: HistoryTable, id: string) =>
  (await service.database.sql.unsafe<{ p: string }[]>(`SELECT tableoid::regclass::text AS p FROM ${table} WHERE id = $1`, [id]))[0]?.p ?? null;

/** Writes one event, one delivery of it and one attempt, at `ms`, as the engine would (ids carrying `ms`). */
async function writeHistory(endpointId: string, ms: number, options: { status: string; data?: object | null; key?: string; attempt?: boolean }) {
  const sql = service.database.sql;
  const eventId = newId('event', ms);
  const deliveryId = newId('delivery', ms);
  const attemptId = newId('attempt', ms + 1000);
  const at = new Date(ms);
  await sql`INSERT INTO events (id, org_id, type, data, idempotency_key, created_at, payload_purged_at)
            VALUES (${eventId}, ${service.orgId}, 'pipeline.run.failed', ${options.data === null ? null : sql.json((options.data ?? { at: ms }) as never)},
                    ${options.key ?? null}, ${at}, ${options.data === null ? at : null})`;
  if (options.key) await sql`INSERT INTO event_idempotency_keys (org_id, idempotency_key, event_id) VALUES (${service.orgId}, ${options.key}, ${eventId})`;
  await sql`INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, status, attempt_count, created_at, completed_at, last_attempt_at, last_attempt_id)
            VALUES (${deliveryId}, ${service.orgId}, ${eventId}, ${endpointId}, 'pipeline.run.failed', ${options.status}::delivery_status,
                    ${options.attempt === false ? 0 : 1}, ${at}, ${options.status === 'PENDING' ? null : at},
                    ${options.attempt === false ? null : new Date(ms + 1000)}, ${options.attempt === false ? null : attemptId})`;
  if (options.attempt !== false) {
    await sql`INSERT INTO delivery_attempts (id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at, duration_ms, succeeded, request_headers, response_status, response_body)
              VALUES (${attemptId}, ${service.orgId}, ${deliveryId}, ${endpointId}, 'pipeline.run.failed', 1, 'SCHEDULED', ${new Date(ms + 1000)}, 12,
                      ${options.status === 'SUCCEEDED'}, '{}'::jsonb, ${options.status === 'SUCCEEDED' ? 200 : 503}, 'body')`;
  }
  return { eventId, deliveryId, attemptId };
}

describe('history partitions', () => {
  it('computes id bounds in SQL (migration, bench) exactly as the domain does', async () => {
    for (const ms of [0, 1, 31, 32, Date.UTC(2026, 11, 3), Date.now(), 2 ** 47 + 12345, 2 ** 48 - 1]) {
      for (const [prefix, kind] of [['evt', 'event'], ['dlv', 'delivery'], ['att', 'attempt'], ['ep', 'endpoint']] as const) {
        const [row] = await service.database.sql`SELECT webhooks_id_bound(${prefix}, ${ms}::bigint) AS bound`;
        expect(row!.bound).toBe(idLowerBound(kind, ms));
      }
    }
  });

  it('has today and the next three days at start, for every table, and a DEFAULT partition', async () => {
    const today = utcDayStart(Date.now());
    for (const table of TABLES) {
      const listed = await service.engine.history.partitions.list(table);
      expect(listed.hasDefault).toBe(true);
      expect(listed.partitions.map((p) => p.name)).toEqual([0, 1, 2, 3].map((d) => partitionName(table, today + d * DAY_MS)));
    }
  });

  it('never fails a write for want of a partition, and takes the DEFAULT partition\'s rows back into partitions made after downtime', async () => {
    const endpoint = await createEndpoint(service.client(), { url: `${receiver.url}/downtime`, patterns: [] });
    // The service was down ten days: nothing made the partitions of that time, yet writes go in.
    const later = Date.now() + 10 * DAY_MS;
    const row = await writeHistory(endpoint.id, later, { status: 'SUCCEEDED' });
    for (const [table, id] of [['events', row.eventId], ['deliveries', row.deliveryId], ['delivery_attempts', row.attemptId]] as const) {
      expect(await partitionOf(table, id)).toBe(`${table}_default`);
    }
    // Two processes catching up at once: each partition made once, the rows moved once.
    const other = createHistoryMaintenance({ sql: service.database.sql, probeSql: () => service.database.workerSql, log: createLogger('silent'), historyRetentionDays: 3 });
    const [a, b] = await Promise.all([service.engine.history.ensurePartitions(later), other.ensurePartitions(later)]);
    const created = [...a.created, ...b.created];
    expect(new Set(created).size).toBe(created.length);
    const laterDay = utcDayStart(later);
    for (const [table, id] of [['events', row.eventId], ['deliveries', row.deliveryId], ['delivery_attempts', row.attemptId]] as const) {
      expect(await partitionOf(table, id)).toBe(partitionName(table, laterDay));
      // The gap since the newest partition is filled (back to what retention, 3 days, keeps then).
      const days = await names(table);
      for (let d = laterDay - 2 * DAY_MS; d <= laterDay + 3 * DAY_MS; d += DAY_MS) expect(days).toContain(partitionName(table, d));
      expect(Number((await service.database.sql.unsafe(`SELECT count(*) AS n FROM ${table}_default`))[0]!.n)).toBe(0);
    }
    expect(await service.engine.history.ensurePartitions(later)).toMatchObject({ created: [], postponed: [] });
  });
});

/** Tables `drop` detached and renamed but has not removed yet. */
async function retiredTables(): Promise<string[]> {
  const rows = await service.database.sql<{ relname: string }[]>`
    SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ '^(events|deliveries|delivery_attempts)_.*_retired$' ORDER BY relname`;
  return rows.map((r) => r.relname);
}

describe('history retention', () => {
  it('drops whole day partitions past the horizon, carrying pending deliveries over with their event, attempts and key; they are still delivered', async () => {
    const endpoint = await createEndpoint(service.client(), { url: `${receiver.url}/carried`, patterns: [] });
    const old = utcDayStart(Date.now()) - 5 * DAY_MS + 12 * 3_600_000;
    await service.engine.history.ensurePartitions(old);
    const done = await writeHistory(endpoint.id, old, { status: 'SUCCEEDED', key: 'key-done' });
    const pending = await writeHistory(endpoint.id, old + 60_000, { status: 'PENDING', key: 'key-pending', data: { carried: true } });
    const dead = await writeHistory(endpoint.id, old + 120_000, { status: 'DEAD', data: null });
    const seq = (await service.database.sql<{ seq: string }[]>`SELECT seq FROM deliveries WHERE id = ${pending.deliveryId}`)[0]!.seq;
    for (const table of TABLES) expect(await partitionOf(table, table === 'events' ? done.eventId : table === 'deliveries' ? done.deliveryId : done.attemptId)).toBe(partitionName(table, utcDayStart(old)));

    const summary = await service.engine.history.dropExpired();
    for (const table of TABLES) expect(summary.dropped).toContain(partitionName(table, utcDayStart(old)));
    expect(summary.postponed).toEqual([]);
    expect(summary.carried).toBe(3);
    // Detached under the table's lock, the files removed after it (timed apart), nothing left over.
    for (const table of TABLES) expect(Object.keys(summary.phaseMs)).toEqual(expect.arrayContaining([`locked ${table}`, `files ${table}`]));
    expect(await retiredTables()).toEqual([]);
    // The finished ones are gone, rows and keys; the pending one lives on in the DEFAULT partitions.
    const sql = service.database.sql;
    expect(await sql`SELECT id FROM deliveries WHERE id IN (${done.deliveryId}, ${dead.deliveryId})`).toHaveLength(0);
    expect(await sql`SELECT id FROM events WHERE id IN (${done.eventId}, ${dead.eventId})`).toHaveLength(0);
    expect(await sql`SELECT id FROM delivery_attempts WHERE id IN (${done.attemptId}, ${dead.attemptId})`).toHaveLength(0);
    expect(await partitionOf('deliveries', pending.deliveryId)).toBe('deliveries_default');
    expect(await partitionOf('events', pending.eventId)).toBe('events_default');
    expect(await partitionOf('delivery_attempts', pending.attemptId)).toBe('delivery_attempts_default');
    expect((await sql<{ seq: string }[]>`SELECT seq FROM deliveries WHERE id = ${pending.deliveryId}`)[0]!.seq).toBe(seq);
    expect((await sql`SELECT idempotency_key FROM event_idempotency_keys WHERE org_id = ${service.orgId} ORDER BY 1`).map((r) => r.idempotency_key)).toEqual(['key-pending']);

    // The API still shows it whole, and a publish with its key is a duplicate of it; the dropped key is free again.
    const view = await service.client().data(`query($id: ID!) { delivery(id: $id) { status event { id data } attempts { id } } }`, { id: pending.deliveryId });
    expect(view.delivery).toEqual({ status: 'PENDING', event: { id: pending.eventId, data: { carried: true } }, attempts: [{ id: pending.attemptId }] });
    expect(await publish(service.client(), { type: 'pipeline.run.failed', data: {}, eventId: 'key-pending' })).toMatchObject({ duplicate: true, event: { id: pending.eventId } });
    expect(await publish(service.client(), { type: 'pipeline.run.failed', data: {}, eventId: 'key-done' })).toMatchObject({ duplicate: false });

    // Its queue job (ids only) finds it where it is now.
    await service.engine.jobs.enqueue(sql, [{ endpointId: endpoint.id, deliveryId: pending.deliveryId, eventId: pending.eventId, attemptsMade: 1 }]);
    await service.engine.wake(sql, [endpoint.id]);
    const [request] = await receiver.waitFor(1);
    expect(JSON.parse(request!.rawBody)).toMatchObject({ id: pending.eventId, data: { carried: true } });
    await waitForDeliveries(service, pending.eventId, ['SUCCEEDED']);

    // Finished, it leaves the DEFAULT partitions once its completion is past the horizon, with its key.
    expect((await service.engine.history.partitions.cleanDefault(Date.now() - 3 * DAY_MS, Date.now() - 4 * DAY_MS)).deliveries).toBe(0);
    const cleaned = await service.engine.history.partitions.cleanDefault(Date.now() + 1000, Date.now() + 1000);
    expect(cleaned).toEqual({ deliveries: 1, attempts: 1, events: 1 });
    expect(await sql`SELECT 1 FROM event_idempotency_keys WHERE idempotency_key = 'key-pending'`).toHaveLength(0);
  });

  it('removes a day a run detached but did not get to remove (the process stopped in between), and nothing else', async () => {
    const sql = service.database.sql;
    // As `drop` leaves it between its two transactions: detached, renamed, rows still there.
    await sql.unsafe(`CREATE TABLE deliveries_p20200101_retired (LIKE deliveries INCLUDING DEFAULTS)`);
    await sql.unsafe(`INSERT INTO deliveries_p20200101_retired (id, org_id, event_id, endpoint_id, event_type, seq) VALUES ('dlv_x', 'org_x', 'evt_x', 'ep_x', 't', 1)`);
    // Not ours to remove: a table of another name, and a partition still attached.
    await sql.unsafe(`CREATE TABLE audit_p20200101_retired (id text)`);
    expect(await retiredTables()).toEqual(['deliveries_p20200101_retired']);
    await service.engine.history.dropExpired();
    expect(await retiredTables()).toEqual([]);
    expect(await sql`SELECT 1 FROM pg_class WHERE relname = 'audit_p20200101_retired'`).toHaveLength(1);
    await sql.unsafe(`DROP TABLE audit_p20200101_retired`);
  });

  it('refuses to retry by hand a dead delivery whose payload was purged, with a clear error', async () => {
    const endpoint = await createEndpoint(service.client(), { url: `${receiver.url}/purged`, patterns: [] });
    const row = await writeHistory(endpoint.id, Date.now() - 60_000, { status: 'DEAD', data: null });
    const result = await service.client().request(`mutation($id: ID!) { retryDelivery(id: $id) { id status } }`, { id: row.deliveryId });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toMatch(new RegExp(`payload of event ${row.eventId} was purged on .* after the 2-day payload retention`));
    expect((await service.database.sql`SELECT status FROM deliveries WHERE id = ${row.deliveryId}`)[0]!.status).toBe('DEAD');
  });

  it('records a delivery whose payload was purged after it was brought back as DEAD, sending nothing, and keeps delivering', async () => {
    const endpoint = await createEndpoint(service.client(), { url: `${receiver.url}/fails`, patterns: ['pipeline.run.cancelled'], retryPolicy: { maxAttempts: 1 } });
    const published = await publish(service.client(), { type: 'pipeline.run.cancelled', data: { n: 1 } });
    const [delivery] = await waitForDeliveries(service, published.event.id, ['DEAD']);
    const sent = () => receiver.requests.filter((r) => r.path === '/fails').length;
    expect(sent()).toBe(1);
    // The retry passed its check, then the payload purge ran before the worker took the job.
    await service.database.sql`UPDATE events SET data = NULL, payload_purged_at = now() WHERE id = ${published.event.id}`;
    await service.engine.retryDelivery(service.orgId, delivery!.id);
    await waitUntil('the manual attempt recorded', async () => (await service.database.sql`SELECT 1 FROM delivery_attempts WHERE delivery_id = ${delivery!.id}`).length === 2);
    const attempts = await service.database.sql`
      SELECT trigger, succeeded, error_class, error_message, response_status FROM delivery_attempts WHERE delivery_id = ${delivery!.id} ORDER BY attempt_number`;
    expect(attempts[1]).toMatchObject({ trigger: 'MANUAL', succeeded: false, error_class: null, response_status: null });
    expect(attempts[1]!.error_message).toMatch(/^Not sent: the payload of event evt_\w+ was purged after the payload retention period/);
    await waitForDeliveries(service, published.event.id, ['DEAD']);
    expect(sent()).toBe(1);
    // The worker goes on.
    const next = await publish(service.client(), { type: 'pipeline.run.cancelled', data: { n: 2 } });
    await waitForDeliveries(service, next.event.id, ['DEAD']);
    expect(sent()).toBe(2);
  });
});
