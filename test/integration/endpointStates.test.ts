import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { createEndpoint } from '../helpers/flows.js';
import { createEndpointStates } from '../../server/engine/worker/endpointStates.js';
import { createRuntimeLoader } from '../../server/engine/endpointRuntime.js';
import { createSecretBox } from '../../server/crypto/secretBox.js';

let service: TestService;
let ids: string[];

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_ROLES: 'api' });
  const admin = service.client();
  ids = [];
  for (let i = 0; i < 30; i++) ids.push((await createEndpoint(admin, { url: `http://127.0.0.1:9/e${i}`, patterns: ['pipeline.*'], rateLimitPerSecond: i % 2 ? 5 : null })).id);
});
afterAll(async () => {
  await service?.close();
});

function states(options: { cacheMax?: number; recentlyAcquired?: boolean } = {}) {
  const loadRuntimes = createRuntimeLoader({ sql: service.database.sql, secretBox: createSecretBox(Buffer.from(service.masterKey, 'base64')) });
  return createEndpointStates({ loadRuntimes, runtimeCacheMax: options.cacheMax, recentlyAcquired: () => options.recentlyAcquired ?? false });
}

describe('what the worker keeps per endpoint', () => {
  it('makes states on demand with runtimes from the database, keeping at most the cache bound of runtimes', async () => {
    const registry = states({ cacheMax: 10 });
    const opened = await registry.open(ids);
    expect(opened.map((s) => s.id)).toEqual(ids);
    expect(opened.every((s) => s.runtime?.signer)).toBe(true);
    expect(registry.size()).toBe(30);
    expect(registry.cachedRuntimes()).toBe(10);
    // A rate limit gets its window; a takeover would start it full.
    expect(opened[1]!.window).toEqual({ inFlight: 0, cooling: [] });
    expect(opened[0]!.window).toBeNull();
    const takenOver = await states({ recentlyAcquired: true }).open([ids[1]!]);
    expect(takenOver[0]!.window!.cooling).toHaveLength(5);
  });

  it('drops idle asleep states (an idle endpoint costs nothing after a while) and keeps busy ones', async () => {
    const registry = states();
    const opened = await registry.open(ids.slice(0, 10));
    const nowMs = Date.now();
    for (const s of opened) s.exhausted = true;
    opened[0]!.inFlight = 1; // busy
    opened[1]!.exhausted = false; // a lease is wanted
    opened[2]!.deferred = true; // asked to try again
    expect(registry.evictIdle(nowMs, 60_000)).toBe(0); // not idle long enough
    expect(registry.evictIdle(nowMs + 60_000, 60_000)).toBe(7);
    expect([...registry.values()].map((s) => s.id).sort()).toEqual([ids[0], ids[1], ids[2]].sort());
    // Reopening an evicted endpoint is served from the runtime cache.
    const again = await registry.open([ids[5]!]);
    expect(again[0]!.runtime).toBe(opened[5]!.runtime);
  });

  it('retires deleted and unknown endpoints instead of opening them', async () => {
    await service.client().data(`mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`, { id: ids[29] });
    const registry = states();
    const opened = await registry.open([ids[29]!, 'ep_01M8YCMD29HE3AK94XEEDSNJGH', ids[28]!]);
    expect(opened.map((s) => s.id)).toEqual([ids[28]]);
    expect(registry.get(ids[29]!)?.retired).toBe(true);
    expect(registry.evictIdle(Date.now(), 60_000)).toBe(2);
  });
});
