/**
 * An existing database migrates to partitioned history on start without losing a row: the old
 * tables become each table's legacy partition (no rewrite), idempotency keys move to their own
 * table, publish order (deliveries.seq) continues, day partitions follow, every read finds old
 * and new rows, and retention later drops the legacy partition whole, carrying pending rows over.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import postgres from 'postgres';
import { connectDatabase, runMigrations } from '../../server/db/client.js';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startService, type RunningService } from '../../server/service.js';
import { generateApiKey } from '../../server/services/apiKeyTokens.js';
import { makeId } from '../../server/domain/ids.js';
import { DAY_MS } from '../../server/domain/historyPartitions.js';
import { graphqlClient } from '../helpers/graphql.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitForDeliveries } from '../helpers/flows.js';
import { TEST_ENV, type TestService } from '../helpers/service.js';

const ROWS = 300;
let url: string;
let name: string;
let oldMigrations: string;
let service: RunningService;
let receiver: Receiver;
let apiKey: string;
const orgId = makeId('organization', Date.now(), randomBytes(10));
const id = (kind: 'event' | 'delivery' | 'attempt', ms: number) => makeId(kind, ms, randomBytes(10));
const old = { pending: '', pendingEvent: '', done: '', keyEvent: '', maxSeq: 0 };

/** The migrations that ran before this feature: the journal up to the `*_history` migration. */
function migrationsBeforeHistory(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'wh-mig-'));
  const journal = JSON.parse(readFileSync('drizzle/meta/_journal.json', 'utf8'));
  const cut = journal.entries.findIndex((e: { tag: string }) => e.tag.endsWith('_history'));
  journal.entries = journal.entries.slice(0, cut);
  cpSync('drizzle/meta', path.join(dir, 'meta'), { recursive: true });
  writeFileSync(path.join(dir, 'meta/_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) cpSync(path.join('drizzle', `${e.tag}.sql`), path.join(dir, `${e.tag}.sql`));
  expect(readdirSync(dir).filter((f) => f.endsWith('.sql')).length).toBe(cut);
  return dir;
}

beforeAll(async () => {
  const admin = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => {} });
  name = `wh_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(inject('adminDatabaseUrl'));
  u.pathname = `/${name}`;
  url = u.toString();

  // The database as the previous version left it, with history in it.
  oldMigrations = migrationsBeforeHistory();
  const database = connectDatabase({ url, poolSize: 2 });
  await runMigrations(database, oldMigrations);
  const sql = database.sql;
  const key = generateApiKey();
  apiKey = key.key;
  await sql`INSERT INTO organizations (id, name) VALUES (${orgId}, 'migrated')`;
  await sql`INSERT INTO api_keys (id, org_id, name, role, key_hash, key_prefix) VALUES (${makeId('apiKey', Date.now(), randomBytes(10))}, ${orgId}, 'admin', 'admin', ${key.hash}, ${key.prefix})`;
  const t0 = Date.now() - 2 * DAY_MS;
  for (let i = 0; i < ROWS; i++) {
    const ms = t0 + i * 1000;
    const eventId = id('event', ms);
    const deliveryId = id('delivery', ms + 3);
    const status = i === ROWS - 1 ? 'PENDING' : 'SUCCEEDED';
    await sql`INSERT INTO events (id, org_id, type, data, idempotency_key, created_at) VALUES (${eventId}, ${orgId}, 'pipeline.run.failed', ${sql.json({ i })}, ${i === 7 ? 'old-key' : null}, ${new Date(ms)})`;
    await sql`INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, status, attempt_count, created_at, last_attempt_at, completed_at)
              VALUES (${deliveryId}, ${orgId}, ${eventId}, 'ep_01JOLDENDPOINT000000000000', 'pipeline.run.failed', ${status}, 1, ${new Date(ms)}, ${new Date(ms + 10)}, ${status === 'PENDING' ? null : new Date(ms + 20)})`;
    await sql`INSERT INTO delivery_attempts (id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at, duration_ms, succeeded, request_headers)
              VALUES (${id('attempt', ms + 10)}, ${orgId}, ${deliveryId}, 'ep_01JOLDENDPOINT000000000000', 'pipeline.run.failed', 1, 'SCHEDULED', ${new Date(ms + 10)}, 5, ${status !== 'PENDING'}, '{}'::jsonb)`;
    if (i === 7) old.keyEvent = eventId;
    if (i === 8) old.done = deliveryId;
    if (status === 'PENDING') Object.assign(old, { pending: deliveryId, pendingEvent: eventId });
  }
  old.maxSeq = Number((await sql`SELECT max(seq) AS m FROM deliveries`)[0]!.m);
  await database.close();

  receiver = await startReceiver();
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: url, WEBHOOKS_MASTER_KEY: randomBytes(32).toString('base64'), PORT: '1', HOST: '127.0.0.1', WEBHOOKS_DB_POOL_SIZE: '4' });
  config.port = 0;
  service = await startService(config, createLogger('silent'));
});

afterAll(async () => {
  await service?.stop();
  await receiver?.close();
  const admin = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
  rmSync(oldMigrations, { recursive: true, force: true });
});

describe('migrating an existing database to partitioned history', () => {
  it('keeps every row, in a legacy partition per table, with the DEFAULT partition and day partitions after it', async () => {
    const sql = service.database.sql;
    const [counts] = await sql`SELECT (SELECT count(*) FROM events)::int AS e, (SELECT count(*) FROM deliveries)::int AS d, (SELECT count(*) FROM delivery_attempts)::int AS a`;
    expect(counts).toEqual({ e: ROWS, d: ROWS, a: ROWS });
    for (const table of ['events', 'deliveries', 'delivery_attempts'] as const) {
      const listed = await service.engine.history.partitions.list(table);
      expect(listed.hasDefault).toBe(true);
      const [legacy, first] = listed.partitions;
      expect(legacy).toMatchObject({ name: `${table}_legacy`, fromMs: null });
      // The next partition starts where the legacy one ends (the migration's moment), then days follow.
      expect(first!.fromMs).toBe(legacy!.toMs);
      expect(legacy!.toMs!).toBeGreaterThan(Date.now() - 60_000);
      expect(listed.partitions.length).toBeGreaterThanOrEqual(5);
      expect((await sql.unsafe(`SELECT count(*)::int AS n FROM ${table}_legacy`))[0]!.n).toBe(ROWS);
    }
  });

  it('answers old and new rows alike: lists across partitions, delivery with attempts, idempotent eventId, publish order', async () => {
    const client = graphqlClient(`${service.url}/graphql`, apiKey);
    const endpoint = await createEndpoint(client, { url: `${receiver.url}/after`, patterns: ['pipeline.run.started'] });
    const fresh = await publish(client, { type: 'pipeline.run.started', data: { after: true } });
    await waitForDeliveries(service as TestService, fresh.event.id, ['SUCCEEDED']);
    const seq = (await service.database.sql`SELECT seq FROM deliveries WHERE event_id = ${fresh.event.id}`)[0]!.seq;
    expect(Number(seq)).toBeGreaterThan(old.maxSeq);

    const page = await client.data(`{ deliveries(first: 3) { edges { node { id } } } }`);
    expect(page.deliveries.edges.map((e: { node: { id: string } }) => e.node.id)[1]).toBe(old.pending);
    const all: string[] = [];
    let after: string | null = null;
    for (;;) {
      const p: { deliveries: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } = await client.data(
        `query($after: String) { deliveries(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      all.push(...p.deliveries.edges.map((e) => e.node.id));
      if (!p.deliveries.pageInfo.hasNextPage) break;
      after = p.deliveries.pageInfo.endCursor;
    }
    expect(all).toHaveLength(ROWS + 1);
    expect([...all].sort().reverse()).toEqual(all);
    const view = await client.data(`query($id: ID!) { delivery(id: $id) { status attempts { attemptNumber } event { data } } }`, { id: old.done });
    expect(view.delivery).toEqual({ status: 'SUCCEEDED', attempts: [{ attemptNumber: 1 }], event: { data: { i: 8 } } });
    expect(await publish(client, { type: 'pipeline.run.failed', data: {}, eventId: 'old-key' })).toMatchObject({ duplicate: true, event: { id: old.keyEvent } });
    void endpoint;
  });

  it('drops the legacy partitions whole once their newest row is past the horizon, carrying the pending delivery over', async () => {
    const summary = await service.engine.history.dropExpired(Date.now() + 92 * DAY_MS);
    for (const table of ['events', 'deliveries', 'delivery_attempts']) expect(summary.dropped).toContain(`${table}_legacy`);
    const sql = service.database.sql;
    expect((await sql`SELECT tableoid::regclass::text AS p FROM deliveries WHERE id = ${old.pending}`)[0]!.p).toBe('deliveries_default');
    expect((await sql`SELECT tableoid::regclass::text AS p FROM events WHERE id = ${old.pendingEvent}`)[0]!.p).toBe('events_default');
    expect(await sql`SELECT 1 FROM deliveries WHERE id = ${old.done}`).toHaveLength(0);
    expect(await sql`SELECT 1 FROM event_idempotency_keys WHERE idempotency_key = 'old-key'`).toHaveLength(0);
  });
});
