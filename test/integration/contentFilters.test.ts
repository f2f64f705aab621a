import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, deliveriesOf, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';

let service: TestService;
let receiver: Receiver;

beforeAll(async () => {
  service = await startTestService();
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const hook = (path: string) => `${receiver.url}${path}`;
const ENDPOINT_FIELDS = 'id filter filterErrorCount filterLastError filterLastErrorAt';

describe('content filters', () => {
  it('delivers only the events whose filter is true, and makes no delivery row for the others', async () => {
    const admin = service.client();
    const filtered = await createEndpoint(admin, {
      url: hook('/prod-high'),
      patterns: ['pipeline.run.failed'],
      filter: 'data.severity == "high" && data.pipeline.startsWith("prod-")',
    });
    const all = await createEndpoint(admin, { url: hook('/all'), patterns: ['pipeline.run.failed'] });
    const events = [
      { severity: 'high', pipeline: 'prod-etl' },
      { severity: 'low', pipeline: 'prod-etl' },
      { severity: 'high', pipeline: 'dev-etl' },
      { severity: 'high', pipeline: 'prod-billing', runs: [1, 2] },
    ];
    const published = [];
    for (const data of events) published.push(await publish(admin, { type: 'pipeline.run.failed', data }));
    expect(published.map((p) => p.deliveryCount)).toEqual([2, 1, 1, 2]);
    for (const p of published) await waitForDeliveries(service, p.event.id, ['SUCCEEDED']);
    const toFiltered = (await Promise.all(published.map((p) => deliveriesOf(service, p.event.id)))).map((rows) => rows.filter((r) => r.endpoint_id === filtered.id).length);
    expect(toFiltered).toEqual([1, 0, 0, 1]);
    const got = receiver.requests.filter((r) => r.path === '/prod-high').map((r) => JSON.parse(r.rawBody).data.pipeline);
    expect(got.sort()).toEqual(['prod-billing', 'prod-etl']);
    expect(receiver.requests.filter((r) => r.path === '/all')).toHaveLength(4);
    expect(all.id).toBeTruthy();
  });

  it('sees type, orderingKey and timestamp, and uses CEL macros and RE2 regexes', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, {
      url: hook('/macro'),
      patterns: ['orchestration.*'],
      filter:
        'type.endsWith(".queued") && orderingKey != null && orderingKey.matches("^job-[0-9]+$") && timestamp > timestamp("2020-01-01T00:00:00Z") && data.tags.exists(t, t == "nightly")',
    });
    const yes = await publish(admin, { type: 'orchestration.job.queued', data: { tags: ['a', 'nightly'] }, orderingKey: 'job-7' });
    const wrongKey = await publish(admin, { type: 'orchestration.job.queued', data: { tags: ['nightly'] }, orderingKey: 'x-7' });
    const wrongType = await publish(admin, { type: 'orchestration.lease.acquired', data: { tags: ['nightly'] }, orderingKey: 'job-1' });
    const noKey = await publish(admin, { type: 'orchestration.job.queued', data: { tags: ['nightly'] } });
    const rows = async (id: string) => (await deliveriesOf(service, id)).filter((r) => r.endpoint_id === endpoint.id).length;
    expect([await rows(yes.event.id), await rows(wrongKey.event.id), await rows(wrongType.event.id), await rows(noKey.event.id)]).toEqual([1, 0, 0, 0]);
  });

  it('rejects an invalid filter with BAD_USER_INPUT and its position, on create and update', async () => {
    const admin = service.client();
    const bad = await admin.error(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, {
      input: { url: hook('/bad'), patterns: ['*'], filter: 'data.severity == "high" &&' },
    });
    expect(bad.code).toBe('BAD_USER_INPUT');
    expect(bad.extensions.field).toBe('filter');
    expect(bad.message).toMatch(/line 1, column 2[0-9]/);
    expect((bad.extensions.problems as { position: unknown }[])[0]!.position).toEqual({ line: 1, column: expect.any(Number) });

    const unknown = await admin.error(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, {
      input: { url: hook('/bad'), patterns: ['*'], filter: 'severity == "high"' },
    });
    expect(unknown.message).toMatch(/unknown name "severity".*data\.severity/);

    const endpoint = await createEndpoint(admin, { url: hook('/upd'), patterns: ['*'] });
    const nested = await admin.error(`mutation($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) { id } }`, {
      id: endpoint.id,
      input: { filter: 'data.a.exists(x, data.b.exists(y, x == y))' },
    });
    expect(nested.code).toBe('BAD_USER_INPUT');
    expect(nested.message).toMatch(/cannot run inside another/);
    const regex = await admin.error(`mutation($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) { id } }`, {
      id: endpoint.id,
      input: { filter: 'data.a.matches(data.pattern)' },
    });
    expect(regex.message).toMatch(/string literal/);
    const long = await admin.error(`mutation($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) { id } }`, {
      id: endpoint.id,
      input: { filter: `type == "${'x'.repeat(1000)}"` },
    });
    expect(long.message).toMatch(/limit is 1000/);

    const check = await admin.data(`query($e: String!) { validateEndpointFilter(expression: $e) { valid message position { line column } } }`, {
      e: 'type == "a" &&\n  severity == 1',
    });
    expect(check.validateEndpointFilter).toMatchObject({ valid: false, position: { line: 2, column: 3 } });
    const syntax = await admin.data(`query($e: String!) { validateEndpointFilter(expression: $e) { valid message position { line column } } }`, { e: '1 +' });
    expect(syntax.validateEndpointFilter).toMatchObject({ valid: false, message: expect.stringMatching(/not valid CEL/), position: { line: 1, column: 3 } });
    const ok = await admin.data(`query($e: String!) { validateEndpointFilter(expression: $e) { valid message position { line } } }`, { e: 'has(data.x)' });
    expect(ok.validateEndpointFilter).toEqual({ valid: true, message: null, position: null });
  });

  it('a changed filter applies to the next publish (the cached catalog is refreshed)', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: hook('/change'), patterns: ['security.policy.changed'], filter: 'data.n == 1' });
    const count = async (n: number) => {
      const p = await publish(admin, { type: 'security.policy.changed', data: { n } });
      return (await deliveriesOf(service, p.event.id)).filter((r) => r.endpoint_id === endpoint.id).length;
    };
    expect([await count(1), await count(2)]).toEqual([1, 0]);
    await admin.data(`mutation($id: ID!) { updateEndpoint(id: $id, input: { filter: "data.n == 2" }) { filter } }`, { id: endpoint.id });
    expect([await count(1), await count(2)]).toEqual([0, 1]);
    await admin.data(`mutation($id: ID!) { updateEndpoint(id: $id, input: { filter: null }) { filter } }`, { id: endpoint.id });
    expect([await count(1), await count(2)]).toEqual([1, 1]);
  });

  it('counts failed evaluations as no match and shows them on the endpoint, written in batches', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: hook('/errors'), patterns: ['governance.*'], filter: 'data.level > 3' });
    const missing = await publish(admin, { type: 'governance.catalog.sync_finished', data: { other: 1 } });
    const matching = await publish(admin, { type: 'governance.catalog.sync_finished', data: { level: 5 } });
    await publish(admin, { type: 'governance.catalog.sync_finished', data: { level: 'high' } });
    expect((await deliveriesOf(service, missing.event.id)).some((r) => r.endpoint_id === endpoint.id)).toBe(false);
    expect((await deliveriesOf(service, matching.event.id)).some((r) => r.endpoint_id === endpoint.id)).toBe(true);
    // Nothing is written per failing event: the errors wait in memory until the flush.
    expect(service.engine.filters.pendingCount()).toBeGreaterThan(0);
    await service.engine.filters.flush();
    const { endpoint: shown } = await admin.data(`query($id: ID!) { endpoint(id: $id) { ${ENDPOINT_FIELDS} } }`, { id: endpoint.id });
    expect(shown.filterErrorCount).toBe(2);
    expect(shown.filterLastError).toMatch(/overload|no such|found/i);
    expect(shown.filterLastErrorAt).toBeTruthy();
    // A new filter starts with a clean count; saving the same one keeps it.
    const same = await admin.data(`mutation($id: ID!) { updateEndpoint(id: $id, input: { filter: "data.level > 3" }) { filterErrorCount } }`, { id: endpoint.id });
    expect(same.updateEndpoint.filterErrorCount).toBe(2);
    const changed = await admin.data(`mutation($id: ID!) { updateEndpoint(id: $id, input: { filter: "has(data.level) && data.level > 3" }) { filterErrorCount filterLastError } }`, { id: endpoint.id });
    expect(changed.updateEndpoint).toEqual({ filterErrorCount: 0, filterLastError: null });
  });

  it('stops an evaluation that exceeds its budget (counted as an error, publishing goes on)', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: hook('/budget'), patterns: ['pipeline.run.started'], filter: 'data.items.exists(x, x == -1)' });
    const small = await publish(admin, { type: 'pipeline.run.started', data: { items: [1, -1] } });
    const started = Date.now();
    const huge = await publish(admin, { type: 'pipeline.run.started', data: { items: Array.from({ length: 30_000 }, (_, i) => i) } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await deliveriesOf(service, small.event.id)).some((r) => r.endpoint_id === endpoint.id)).toBe(true);
    expect((await deliveriesOf(service, huge.event.id)).some((r) => r.endpoint_id === endpoint.id)).toBe(false);
    await service.engine.filters.flush();
    const { endpoint: shown } = await admin.data(`query($id: ID!) { endpoint(id: $id) { ${ENDPOINT_FIELDS} } }`, { id: endpoint.id });
    expect(shown.filterErrorCount).toBe(1);
    expect(shown.filterLastError).toMatch(/more than 1000 elements/);
  });

  it('lets only admins set a filter (enterprise), everyone read it, and never another organization', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: hook('/roles'), patterns: ['*'], filter: 'true' });
    const keys: Record<string, string> = {};
    for (const role of ['operator', 'viewer', 'publisher']) {
      const created = await admin.data(`mutation($r: ApiKeyRole!, $n: String!) { createApiKey(role: $r, name: $n) { key } }`, { r: role.toUpperCase(), n: role });
      keys[role] = created.createApiKey.key;
    }
    for (const role of ['operator', 'viewer']) {
      const denied = await service.client(keys[role]).error(`mutation($id: ID!) { updateEndpoint(id: $id, input: { filter: "false" }) { id } }`, { id: endpoint.id });
      expect(denied.code).toBe('FORBIDDEN');
      const read = await service.client(keys[role]).data(`query($id: ID!) { endpoint(id: $id) { filter } }`, { id: endpoint.id });
      expect(read.endpoint.filter).toBe('true');
    }
    const other = await service.services.organizations.createOrganization({ name: `filters-other-${Date.now()}`, plan: 'enterprise' });
    const outsider = service.client(other.apiKey);
    expect((await outsider.error(`query($id: ID!) { endpoint(id: $id) { filter } }`, { id: endpoint.id })).code).toBe('NOT_FOUND');
    expect((await outsider.error(`mutation($id: ID!) { updateEndpoint(id: $id, input: { filter: "false" }) { id } }`, { id: endpoint.id })).code).toBe('NOT_FOUND');
    const starter = await service.services.organizations.createOrganization({ name: `filters-starter-${Date.now()}`, plan: 'starter' });
    const gated = await service.client(starter.apiKey).error(`mutation { createEndpoint(input: { url: "https://example.com/h", filter: "true" }) { endpoint { id } } }`);
    expect(gated.code).toBe('FEATURE_NOT_AVAILABLE');
    await waitUntil('nothing pending', async () => true);
  });
});
