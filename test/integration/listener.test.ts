/**
 * The LISTEN connection the worker (wake-ups, endpoint changes) and the api (live streams) rely
 * on, against real Postgres: it receives on every channel, and when its connection is killed it
 * listens again and reports the gap once, so its owner can catch up on what it missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres, { type Sql } from 'postgres';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { waitUntil } from '../helpers/flows.js';
import { createLogger } from '../../server/logger.js';
import { createListener } from '../../server/db/listener.js';

let db: TestDatabase;
let notifier: Sql;
let sql: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  notifier = postgres(db.url, { max: 1, onnotice: () => {} });
  sql = postgres(db.url, { max: 2, onnotice: () => {}, connection: { application_name: 'listener-test' } });
});

afterAll(async () => {
  await sql?.end({ timeout: 1 });
  await notifier?.end({ timeout: 1 });
  await db?.drop();
});

describe('listener', () => {
  it('receives on every channel, and after its connection is killed listens again and reports one gap', async () => {
    const received: string[] = [];
    let gaps = 0;
    const listener = createListener({
      sql,
      log: createLogger('silent'),
      name: 'test',
      channels: { listener_a: (p) => received.push(`a:${p}`), listener_b: (p) => received.push(`b:${p}`) },
      onGap: () => gaps++,
      healthCheckMs: 200,
    });
    await listener.start();
    expect(listener.listening()).toBe(true);
    await notifier`SELECT pg_notify('listener_a', '1'), pg_notify('listener_b', '2')`;
    await waitUntil('both notifications', async () => received.length === 2);
    expect(received.sort()).toEqual(['a:1', 'b:2']);
    expect(gaps).toBe(0);

    await notifier`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'listener-test' AND query ILIKE 'listen %'`;
    await waitUntil('the gap to be reported', async () => gaps > 0, 15_000);
    // Both channels came back with one reconnect: one gap, not one per channel.
    await new Promise((r) => setTimeout(r, 300));
    expect(gaps).toBe(1);
    await waitUntil(
      'a notification after the reconnect',
      async () => {
        await notifier`SELECT pg_notify('listener_b', 'after')`;
        await new Promise((r) => setTimeout(r, 100));
        return received.includes('b:after');
      },
      15_000,
    );
    expect(listener.listening()).toBe(true);
    await listener.stop();
    expect(listener.listening()).toBe(false);
  });
});
