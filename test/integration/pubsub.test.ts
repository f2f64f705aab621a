/**
 * The LISTEN/NOTIFY pubsub on its own, against real Postgres: two instances stand for two api
 * processes. One listener connection per process whatever the subscriber count, fan-out by
 * organization, one shared load per notification (none without subscribers), prompt cleanup on
 * return(), recovery after the listener connection is killed, and bounded queues.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres, { type Sql } from 'postgres';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { waitUntil } from '../helpers/flows.js';
import { createLogger } from '../../server/logger.js';
import { createPubSub, type LiveIterator } from '../../server/graphql/pubsub.js';

interface Msg {
  orgId: string;
  n: number;
  endpointId?: string;
}

const CHANNEL = 'pubsub_test_messages';
const log = createLogger('silent');

let db: TestDatabase;
let notifier: Sql;
const opened: { sql: Sql; stop: () => Promise<void> }[] = [];

function makeProcess(name: string, options: { maxQueue?: number; healthCheckMs?: number } = {}) {
  const sql = postgres(db.url, { max: 3, onnotice: () => {}, connection: { application_name: name } });
  const loads: Msg[][] = [];
  const needs: string[][] = [];
  const pubsub = createPubSub({
    sql,
    log,
    topics: {
      messages: {
        channel: CHANNEL,
        async load(records: Msg[], wanted: ReadonlySet<string>) {
          loads.push(records);
          needs.push([...wanted].sort());
          return records.map((r) => ({ ...r, loadedBy: name }));
        },
      },
    },
    maxQueue: options.maxQueue,
    healthCheckMs: options.healthCheckMs ?? 0,
  });
  opened.push({ sql, stop: () => pubsub.stop() });
  return { sql, pubsub, loads, needs };
}

async function notify(records: Msg[]): Promise<void> {
  await notifier`SELECT pg_notify(${CHANNEL}, ${JSON.stringify(records)})`;
}

/** Takes `count` messages, failing after `timeoutMs`. */
async function take<T>(iterator: LiveIterator<T>, count: number, timeoutMs = 5000): Promise<T[]> {
  const out: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const next = await Promise.race([
      iterator.next(),
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(1, deadline - Date.now()))),
    ]);
    if (next === 'timeout') throw new Error(`got ${out.length} of ${count} messages`);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

/** Resolves true when the iterator yields nothing within `ms`. */
async function quiet<T>(iterator: LiveIterator<T>, ms = 300): Promise<boolean> {
  const next = await Promise.race([iterator.next().then(() => 'message'), new Promise((r) => setTimeout(() => r('quiet'), ms))]);
  return next === 'quiet';
}

async function listenerBackends(applicationName: string): Promise<number> {
  const [row] = await notifier<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE application_name = ${applicationName} AND datname = current_database() AND query ILIKE 'listen %'`;
  return row!.n;
}

beforeAll(async () => {
  db = await createTestDatabase();
  notifier = postgres(db.url, { max: 1, onnotice: () => {} });
});

afterAll(async () => {
  for (const p of opened) {
    await p.stop().catch(() => {});
    await p.sql.end({ timeout: 1 }).catch(() => {});
  }
  await notifier?.end({ timeout: 1 });
  await db?.drop();
});

describe('pubsub over LISTEN/NOTIFY', () => {
  it('reaches subscribers in every process, scoped to their organization, with one load per notification per process', async () => {
    const a = makeProcess('pubsub-a');
    const b = makeProcess('pubsub-b');
    await a.pubsub.start();
    await b.pubsub.start();
    const a1 = a.pubsub.subscribe('messages', 'org_1');
    const a2 = a.pubsub.subscribe('messages', 'org_1');
    const a3 = a.pubsub.subscribe('messages', 'org_1', (m) => m.endpointId === 'ep_x');
    const b1 = b.pubsub.subscribe('messages', 'org_1');
    const other = b.pubsub.subscribe('messages', 'org_2');

    await notify([
      { orgId: 'org_1', n: 1, endpointId: 'ep_x' },
      { orgId: 'org_1', n: 2, endpointId: 'ep_y' },
      { orgId: 'org_3', n: 3 },
    ]);
    expect((await take(a1, 2)).map((m) => m.n)).toEqual([1, 2]);
    expect((await take(a2, 2)).map((m) => m.n)).toEqual([1, 2]);
    expect((await take(a3, 1)).map((m) => m.n)).toEqual([1]);
    const fromB = await take(b1, 2);
    expect(fromB.map((m) => m.n)).toEqual([1, 2]);
    expect(fromB[0]).toMatchObject({ loadedBy: 'pubsub-b' });
    expect(await quiet(other)).toBe(true);
    expect(await quiet(a3)).toBe(true);

    // One load per process for the three subscribers, and only with the records someone wants.
    expect(a.loads).toHaveLength(1);
    expect(a.loads[0]!.map((m) => m.n)).toEqual([1, 2]);
    expect(b.loads).toHaveLength(1);

    for (const it of [a1, a2, a3, b1, other]) await it.return();
    expect(a.pubsub.stats().subscribers.messages).toBe(0);
    expect(b.pubsub.stats().subscribers.messages).toBe(0);

    // Nobody subscribed: the notification is not even parsed, nothing is loaded.
    await notify([{ orgId: 'org_1', n: 4 }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(a.loads).toHaveLength(1);
    await a.pubsub.stop();
    await b.pubsub.stop();
  });

  it('tells load what the subscribers of the batch\'s organizations will read, and nothing for others', async () => {
    const p = makeProcess('pubsub-needs');
    await p.pubsub.start();
    const reader = p.pubsub.subscribe('messages', 'org_1', () => true, new Set(['rows']));
    const plain = p.pubsub.subscribe('messages', 'org_1');
    const elsewhere = p.pubsub.subscribe('messages', 'org_2', () => true, new Set(['endpoints']));
    await notify([{ orgId: 'org_1', n: 1 }]);
    await take(reader, 1);
    await take(plain, 1);
    await notify([{ orgId: 'org_2', n: 2 }]);
    await take(elsewhere, 1);
    await reader.return();
    await notify([{ orgId: 'org_1', n: 3 }]);
    await take(plain, 1);
    expect(p.needs).toEqual([['rows'], ['endpoints'], []]);
    for (const it of [plain, elsewhere]) await it.return();
    await p.pubsub.stop();
  });

  it('keeps one listener connection per process whatever the number of subscribers', async () => {
    const p = makeProcess('pubsub-count');
    await p.pubsub.start();
    expect(await listenerBackends('pubsub-count')).toBe(1);
    const many = Array.from({ length: 200 }, (_, i) => p.pubsub.subscribe('messages', `org_${i % 7}`));
    await notify([{ orgId: 'org_1', n: 1 }]);
    await take(many[1]!, 1);
    expect(await listenerBackends('pubsub-count')).toBe(1);
    for (const it of many) await it.return();
    await p.pubsub.stop();
  });

  it('ends a pending next() at once when the subscriber returns, and frees it', async () => {
    const p = makeProcess('pubsub-return');
    await p.pubsub.start();
    const it1 = p.pubsub.subscribe('messages', 'org_1');
    const pending = it1.next();
    expect(p.pubsub.stats().subscribers.messages).toBe(1);
    await it1.return();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(p.pubsub.stats().subscribers.messages).toBe(0);
    // A second return and a next after it are harmless.
    await it1.return();
    await expect(it1.next()).resolves.toMatchObject({ done: true });
    expect(p.pubsub.stats().subscribers.messages).toBe(0);

    // for-await loops end cleanly too (what graphql-ws does).
    const it2 = p.pubsub.subscribe('messages', 'org_1');
    const seen: number[] = [];
    const loop = (async () => {
      for await (const m of it2) seen.push(m.n);
    })();
    await notify([{ orgId: 'org_1', n: 7 }]);
    await waitUntil('the message', async () => seen.length === 1);
    await it2.return();
    await loop;
    expect(p.pubsub.stats().subscribers.messages).toBe(0);
    await p.pubsub.stop();
  });

  it('drops the oldest messages of a subscriber that stopped reading, and counts them', async () => {
    const p = makeProcess('pubsub-slow', { maxQueue: 5 });
    await p.pubsub.start();
    const slow = p.pubsub.subscribe('messages', 'org_1');
    await notify(Array.from({ length: 12 }, (_, i) => ({ orgId: 'org_1', n: i })));
    await waitUntil('fan-out', async () => p.pubsub.stats().dropped === 7);
    expect((await take(slow, 5)).map((m) => m.n)).toEqual([7, 8, 9, 10, 11]);
    await slow.return();
    await p.pubsub.stop();
  });

  it('listens again after its listener connection is killed', async () => {
    const p = makeProcess('pubsub-kill', { healthCheckMs: 200 });
    await p.pubsub.start();
    const sub = p.pubsub.subscribe('messages', 'org_1');
    await notify([{ orgId: 'org_1', n: 1 }]);
    await take(sub, 1);
    await notifier`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pubsub-kill' AND query ILIKE 'listen %'`;
    // Messages sent while it is down are lost (live only); later ones arrive.
    const got = await waitUntil(
      'a message after the reconnect',
      async () => {
        await notify([{ orgId: 'org_1', n: 2 }]);
        const next = await Promise.race([sub.next(), new Promise<null>((r) => setTimeout(() => r(null), 200))]);
        return next && !next.done ? next.value : null;
      },
      15_000,
    );
    expect(got.n).toBe(2);
    await waitUntil('listener healthy', async () => p.pubsub.stats().listening);
    await sub.return();
    await p.pubsub.stop();
  });
});
