/**
 * Idempotency-Key on HTTP mutations, against real services sharing one Postgres: a retried
 * createEndpoint makes one endpoint and gets the first secret back, concurrent requests with a
 * key run once (also across two api processes), and every misuse is IDEMPOTENCY_CONFLICT.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { waitUntil } from '../helpers/flows.js';

const CREATE = `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { secret endpoint { id url } } }`;
const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key } }`;

interface Answer {
  status: number;
  replayed: boolean;
  data?: any;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

let service: TestService;
let second: TestService;

async function post(base: TestService, apiKey: string, query: string, variables: Record<string, unknown>, idempotencyKey?: string, signal?: AbortSignal): Promise<Answer> {
  const response = await fetch(`${base.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  const body = (await response.json()) as Omit<Answer, 'status' | 'replayed'>;
  return { ...body, status: response.status, replayed: response.headers.get('idempotent-replayed') === 'true' };
}

const countEndpoints = async (urlLike: string) =>
  (await service.database.sql`SELECT count(*)::int AS n FROM endpoints WHERE url LIKE ${urlLike}`)[0]!.n as number;

beforeAll(async () => {
  service = await startTestService();
  // A second api process on the same database (and master key), as in a scaled-out deployment.
  second = await startSecond();
});

/** A second api process on the first one's database (startTestService expects an empty one). */
async function startSecond(): Promise<TestService> {
  const { loadConfig } = await import('../../server/config.js');
  const { createLogger } = await import('../../server/logger.js');
  const { startService } = await import('../../server/service.js');
  const { TEST_ENV } = await import('../helpers/service.js');
  const config = loadConfig({
    ...TEST_ENV,
    DATABASE_URL: service.testDatabase.url,
    WEBHOOKS_MASTER_KEY: service.masterKey,
    WEBHOOKS_ROLES: 'api',
    PORT: '1',
    HOST: '127.0.0.1',
    WEBHOOKS_DB_POOL_SIZE: '6',
  });
  config.port = 0;
  const running = await startService(config, createLogger(config.logLevel));
  return { ...service, ...running, close: () => running.stop() } as TestService;
}

afterAll(async () => {
  await second?.close();
  await service?.close();
});

describe('Idempotency-Key', () => {
  it('a createEndpoint retried after a client timeout makes one endpoint and returns the first secret again', async () => {
    // Hold the endpoints table so the first request outlives its client's patience.
    const blocker = postgres(service.testDatabase.url, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const locked = new Promise<void>((resolve) => {
      void blocker.begin(async (tx) => {
        await tx`LOCK TABLE endpoints IN EXCLUSIVE MODE`;
        resolve();
        await held;
      });
    });
    await locked;
    const input = { url: 'http://127.0.0.1:9/timeout', patterns: ['webhook.test'] };
    const timedOut = post(service, service.adminKey, CREATE, { input }, 'retry-1', AbortSignal.timeout(500));
    await expect(timedOut).rejects.toThrow();
    // A retry while the first is still running waits for it.
    const retryWhileRunning = post(service, service.adminKey, CREATE, { input }, 'retry-1');
    await new Promise((r) => setTimeout(r, 300));
    release();
    const first = await retryWhileRunning;
    expect(first.errors).toBeUndefined();
    expect(first.replayed).toBe(true);
    expect(first.data.createEndpoint.secret).toMatch(/^whsec_/);
    const again = await post(service, service.adminKey, CREATE, { input }, 'retry-1');
    expect(again.replayed).toBe(true);
    expect(again.data).toEqual(first.data);
    expect(await countEndpoints('%/timeout')).toBe(1);
    await blocker.end();
  });

  it('concurrent requests with one key run once, across two api processes', async () => {
    const input = { url: 'http://127.0.0.1:9/concurrent', patterns: ['webhook.test'] };
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => post(i % 2 ? second : service, service.adminKey, CREATE, { input }, 'concurrent-1')),
    );
    for (const a of answers) expect(a.errors).toBeUndefined();
    expect(new Set(answers.map((a) => a.data.createEndpoint.endpoint.id)).size).toBe(1);
    expect(new Set(answers.map((a) => a.data.createEndpoint.secret)).size).toBe(1);
    expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
    expect(await countEndpoints('%/concurrent')).toBe(1);
  });

  it('the same key with another request is IDEMPOTENCY_CONFLICT; formatting and variable order are the same request', async () => {
    const first = await post(service, service.adminKey, CREATE, { input: { url: 'http://127.0.0.1:9/same', description: 'd', labels: ['a'] } }, 'same-1');
    expect(first.errors).toBeUndefined();
    const reformatted = `mutation ($input: CreateEndpointInput!) {
      createEndpoint(input: $input) { secret   endpoint { id url } }
    }`;
    const same = await post(service, service.adminKey, reformatted, { input: { labels: ['a'], description: 'd', url: 'http://127.0.0.1:9/same' } }, 'same-1');
    expect(same.replayed).toBe(true);
    expect(same.data).toEqual(first.data);
    const different = await post(service, service.adminKey, CREATE, { input: { url: 'http://127.0.0.1:9/other' } }, 'same-1');
    expect(different.errors?.[0]?.extensions).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', reason: 'DIFFERENT_REQUEST' });
    expect(await countEndpoints('%/other')).toBe(0);
  });

  it('is per organization and per API key: another key never sees the first response', async () => {
    const input = { url: 'http://127.0.0.1:9/scoped' };
    const first = await post(service, service.adminKey, CREATE, { input }, 'scoped-1');
    const admin2 = (await service.client().data(CREATE_KEY, { role: 'ADMIN', name: 'second admin' })).createApiKey.key;
    const viewer = (await service.client().data(CREATE_KEY, { role: 'VIEWER', name: 'viewer' })).createApiKey.key;
    for (const key of [admin2, viewer]) {
      const answer = await post(service, key, CREATE, { input }, 'scoped-1');
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', reason: 'OTHER_API_KEY' });
      expect(JSON.stringify(answer)).not.toContain(first.data.createEndpoint.secret);
    }
    const otherOrg = await service.services.organizations.createOrganization({ name: 'idem-other', plan: 'enterprise' });
    const theirs = await post(service, otherOrg.apiKey, CREATE, { input }, 'scoped-1');
    expect(theirs.replayed).toBe(false);
    expect(theirs.data.createEndpoint.endpoint.id).not.toBe(first.data.createEndpoint.endpoint.id);
  });

  it('keeps the response sealed at rest, forgets it after 24 hours, and the maintenance purge deletes it', async () => {
    const first = await post(service, service.adminKey, CREATE, { input: { url: 'http://127.0.0.1:9/sealed' } }, 'sealed-1');
    const [row] = await service.database.sql`SELECT * FROM idempotency_keys WHERE key = 'sealed-1'`;
    expect(row!.state).toBe('DONE');
    expect(row!.response_sealed).toMatch(/^v1\./);
    expect(row!.response_sealed).not.toContain(first.data.createEndpoint.secret);
    expect(JSON.stringify(row)).not.toContain(first.data.createEndpoint.secret.slice(6));

    await service.database.sql`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'sealed-1'`;
    const afterADay = await post(service, service.adminKey, CREATE, { input: { url: 'http://127.0.0.1:9/sealed' } }, 'sealed-1');
    expect(afterADay.replayed).toBe(false);
    expect(afterADay.data.createEndpoint.endpoint.id).not.toBe(first.data.createEndpoint.endpoint.id);
    expect(await countEndpoints('%/sealed')).toBe(2);

    await service.database.sql`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'sealed-1'`;
    expect(await service.services.idempotency.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await service.database.sql`SELECT 1 FROM idempotency_keys WHERE key = 'sealed-1'`).toHaveLength(0);
  });

  it('replays kept failures, refuses malformed keys, ignores queries, and reports a first request that died', async () => {
    const bad = { input: { url: 'ftp://nope' } };
    const failed = await post(service, service.adminKey, CREATE, bad, 'fails-1');
    expect(failed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const failedAgain = await post(service, service.adminKey, CREATE, bad, 'fails-1');
    expect(failedAgain.replayed).toBe(true);
    expect(failedAgain.errors).toEqual(failed.errors);

    for (const key of ['has space', 'x'.repeat(256), 'ünï']) {
      const answer = await post(service, service.adminKey, CREATE, { input: { url: 'http://127.0.0.1:9/badkey' } }, key);
      expect(answer.errors?.[0]?.extensions?.code, key).toBe('BAD_USER_INPUT');
    }
    expect(await countEndpoints('%/badkey')).toBe(0);

    const q1 = await post(service, service.adminKey, `query { viewer { role } }`, {}, 'a-query');
    const q2 = await post(service, service.adminKey, `query { endpoints(first: 1) { edges { node { id } } } }`, {}, 'a-query');
    expect([q1.errors, q2.errors, q1.replayed, q2.replayed]).toEqual([undefined, undefined, false, false]);
    expect(await service.database.sql`SELECT 1 FROM idempotency_keys WHERE key = 'a-query'`).toHaveLength(0);

    // A claim whose process died: RUNNING with its lease run out.
    const viewerRow = (await service.database.sql`SELECT id FROM api_keys WHERE org_id = ${service.orgId} AND role = 'admin' ORDER BY id LIMIT 1`)[0]!;
    const { requestFingerprint } = await import('../../server/domain/idempotency.js');
    const { print, parse } = await import('graphql');
    const hash = requestFingerprint({ operation: print(parse(CREATE)), operationName: undefined, variables: { input: { url: 'http://127.0.0.1:9/died' } } });
    await service.database.sql`
      INSERT INTO idempotency_keys (id, org_id, key, api_key_id, request_hash, state, lease_until)
      VALUES ('died-claim', ${service.orgId}, 'died-1', ${viewerRow.id}, ${hash}, 'RUNNING', now() - interval '1 second')`;
    const died = await post(service, service.adminKey, CREATE, { input: { url: 'http://127.0.0.1:9/died' } }, 'died-1');
    expect(died.errors?.[0]?.extensions).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', reason: 'ABANDONED' });
    expect(await countEndpoints('%/died')).toBe(0);
  });

  it('without the header nothing changes: two creates make two endpoints', async () => {
    await post(service, service.adminKey, CREATE, { input: { url: 'http://127.0.0.1:9/nokey' } });
    await post(service, service.adminKey, CREATE, { input: { url: 'http://127.0.0.1:9/nokey' } });
    expect(await countEndpoints('%/nokey')).toBe(2);
  });

  it('publishEvent: the header replays the first answer; eventId still deduplicates across keys', async () => {
    const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id } duplicate deliveryCount } }`;
    const input = { type: 'webhook.test', data: { n: 1 }, eventId: 'idem-evt-1' };
    const first = await post(service, service.adminKey, PUBLISH, { input }, 'pub-1');
    const replay = await post(service, service.adminKey, PUBLISH, { input }, 'pub-1');
    expect(replay.replayed).toBe(true);
    expect(replay.data).toEqual(first.data);
    expect(first.data.publishEvent.duplicate).toBe(false);
    const otherKey = await post(service, service.adminKey, PUBLISH, { input }, 'pub-2');
    expect(otherKey.data.publishEvent).toMatchObject({ duplicate: true, event: { id: first.data.publishEvent.event.id } });
    const events = await service.database.sql`SELECT count(*)::int AS n FROM events WHERE idempotency_key = 'idem-evt-1'`;
    expect(events[0]!.n).toBe(1);
  });

  it('a waiting request gives up with IDEMPOTENCY_CONFLICT (STILL_RUNNING) when the first runs too long', async () => {
    const viewerRow = (await service.database.sql`SELECT id FROM api_keys WHERE org_id = ${service.orgId} AND role = 'admin' ORDER BY id LIMIT 1`)[0]!;
    const { requestFingerprint } = await import('../../server/domain/idempotency.js');
    const { print, parse } = await import('graphql');
    const variables = { input: { url: 'http://127.0.0.1:9/slow' } };
    const hash = requestFingerprint({ operation: print(parse(CREATE)), operationName: undefined, variables });
    await service.database.sql`
      INSERT INTO idempotency_keys (id, org_id, key, api_key_id, request_hash, state, lease_until)
      VALUES ('slow-claim', ${service.orgId}, 'slow-1', ${viewerRow.id}, ${hash}, 'RUNNING', now() + interval '1 hour')`;
    const original = service.services.idempotency.options.waitMs;
    service.services.idempotency.options.waitMs = 400;
    try {
      const answer = await post(service, service.adminKey, CREATE, variables, 'slow-1');
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', reason: 'STILL_RUNNING' });
    } finally {
      service.services.idempotency.options.waitMs = original;
    }
    // Once the first finishes, the waiting caller's retry gets its answer.
    await service.database.sql`DELETE FROM idempotency_keys WHERE key = 'slow-1'`;
    const ran = await post(service, service.adminKey, CREATE, variables, 'slow-1');
    expect(ran.errors).toBeUndefined();
    await waitUntil('the claim to be DONE', async () => (await service.database.sql`SELECT 1 FROM idempotency_keys WHERE key = 'slow-1' AND state = 'DONE'`).length > 0);
  });
});
