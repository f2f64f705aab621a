import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres, { type Sql } from 'postgres';
import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitUntil } from '../helpers/flows.js';
import { startServiceOn, type ServiceOn } from '../faults/support.js';
import { deliveryQueueOf, SHARD_QUEUE_NAMES } from '../../server/db/queues.js';

/**
 * Upgrade from the first version (one pg-boss queue per endpoint) on a database that version
 * wrote: test/fixtures/upgrade/v1-queues.sql, made by make-v1-database.sh from commit 077109f
 * with jobs leased (a receiver that never answered), scheduled an hour ahead (a 500 and a one-hour
 * backoff) and waiting due behind an open breaker.
 */
const fixtureDir = path.resolve('test/fixtures/upgrade');
const manifest = JSON.parse(readFileSync(path.join(fixtureDir, 'v1-queues.json'), 'utf8')) as {
  masterKey: string;
  endpoints: Record<'hanging' | 'failing' | 'tripped' | 'healthy', string>;
};

interface JobRow {
  id: string;
  name: string;
  state: string;
  start_after: Date;
  started_on: Date | null;
  retry_count: number;
  data: { d: string; e: string; a?: number; p?: string };
}

let dbName: string;
let dbUrl: string;
let sql: Sql;
let service: ServiceOn | null = null;
let receiver: Receiver;
let before: JobRow[];

beforeAll(async () => {
  const adminUrl = inject('adminDatabaseUrl');
  dbName = `wh_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  dbUrl = u.toString();
  // A plain dump with INSERTs: one simple-protocol script, on a connection of its own (the
  // script empties its search_path).
  const restore = postgres(dbUrl, { max: 1, onnotice: () => {} });
  await restore.unsafe(readFileSync(path.join(fixtureDir, 'v1-queues.sql'), 'utf8'));
  await restore.end();
  sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
  before = await sql<JobRow[]>`SELECT id, name, state, start_after, started_on, retry_count, data FROM pgboss.job WHERE name LIKE 'deliver\\_%' ORDER BY id`;
  receiver = await startReceiver({ respond: () => ({ status: 200 }) });
}, 60_000);

afterAll(async () => {
  await service?.stop().catch(() => {});
  await receiver?.close();
  await sql?.end();
  const admin = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();
});

describe('upgrading a first-version database (per-endpoint queues)', () => {
  it('starts from jobs leased, scheduled later and waiting', () => {
    const states = (endpoint: string) => before.filter((j) => j.name === `deliver_${endpoint}`).map((j) => j.state);
    expect(states(manifest.endpoints.hanging)).toContain('active');
    expect(states(manifest.endpoints.tripped)).toContain('created');
    const failing = before.filter((j) => j.name === `deliver_${manifest.endpoints.failing}`);
    expect(failing.length).toBe(6);
    expect(failing.every((j) => j.data.a === 1)).toBe(true);
  });

  it('moves every job to its shard queue with its id, state, schedule and retry count, and drops the old queues', async () => {
    // Only the api role first: nothing leases the moved jobs while they are compared.
    service = await startServiceOn(dbUrl, { WEBHOOKS_ROLES: 'api', WEBHOOKS_MASTER_KEY: manifest.masterKey });
    const after = await sql<JobRow[]>`SELECT id, name, state, start_after, started_on, retry_count, data FROM pgboss.job WHERE id = ANY(${before.map((j) => j.id)}::uuid[]) ORDER BY id`;
    expect(after.map((j) => j.id)).toEqual(before.map((j) => j.id));
    for (const [i, old] of before.entries()) {
      const moved = after[i]!;
      const endpointId = old.name.slice('deliver_'.length);
      expect(moved.name).toBe(deliveryQueueOf(endpointId));
      expect(moved.data).toEqual({ ...old.data, p: endpointId });
      expect(moved.state).toBe(old.state);
      expect(moved.start_after.getTime()).toBe(old.start_after.getTime());
      expect(moved.started_on?.getTime() ?? null).toBe(old.started_on?.getTime() ?? null);
      expect(moved.retry_count).toBe(old.retry_count);
    }
    expect(await sql`SELECT name FROM pgboss.queue WHERE name LIKE 'deliver\\_%'`).toEqual([]);
    const queues = await sql<{ name: string }[]>`SELECT name FROM pgboss.queue WHERE name LIKE 'deliveries\\_s%' ORDER BY name`;
    expect(queues.map((q) => q.name)).toEqual([...SHARD_QUEUE_NAMES]);
    expect(await sql`SELECT 1 FROM pg_indexes WHERE schemaname = 'pgboss' AND indexname = 'job_fifo_idx'`).toEqual([]);
    await service.stop();
    service = null;
  });

  it('delivers every pending delivery once a worker runs, the leased ones taken over at once', async () => {
    await sql`UPDATE endpoints SET url = ${`${receiver.url}/upgraded`}, circuit_state = 'CLOSED', circuit_open_until = NULL, consecutive_failures = 0`;
    // The retries were scheduled an hour after the fixture was made: let that hour pass.
    await sql`UPDATE pgboss.job SET start_after = now() WHERE start_after > now() AND name LIKE 'deliveries\_s%'`;
    service = await startServiceOn(dbUrl, { WEBHOOKS_ROLES: 'api,worker', WEBHOOKS_MASTER_KEY: manifest.masterKey });
    await waitUntil(
      'every delivery delivered',
      async () => (await sql`SELECT 1 FROM deliveries WHERE status = 'PENDING' LIMIT 1`).length === 0,
      30_000,
    );
    const pending = before.map((j) => j.data.d);
    const delivered = await sql<{ id: string; status: string }[]>`SELECT id, status FROM deliveries WHERE id = ANY(${pending}::text[])`;
    expect(new Set(delivered.map((d) => d.status))).toEqual(new Set(['SUCCEEDED']));
    expect(delivered).toHaveLength(new Set(pending).size);
    await waitUntil(
      'finished jobs deleted',
      async () => (await sql`SELECT 1 FROM pgboss.job WHERE name LIKE 'deliveries\\_s%' AND state <= 'active'`).length === 0,
    );
  }, 60_000);
});
