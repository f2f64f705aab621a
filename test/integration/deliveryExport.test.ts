/**
 * Delivery exports: GET /exports/deliveries with a Bearer key (scripts) or a short-lived link from
 * createDeliveryExport (the console), CSV or JSON, every matching delivery (more than one page).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint } from '../helpers/flows.js';

const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key apiKey { id } } }`;
const LINK = `mutation($filter: DeliveryFilter, $format: ExportFormat!) { createDeliveryExport(filter: $filter, format: $format) { url expiresAt } }`;
const TOTAL = 1_203;

let service: TestService;
let receiver: Receiver;
let endpointId: string;

beforeAll(async () => {
  [service, receiver] = await Promise.all([startTestService(), startReceiver()]);
  const admin = service.client();
  endpointId = (await createEndpoint(admin, { url: `${receiver.url}/hook?token=s3cret`, patterns: ['orchestration.job.queued'] })).id;
  await createEndpoint(admin, { url: `${receiver.url}/other`, patterns: ['pipeline.run.failed'] });
  for (let done = 0; done < TOTAL; done += 1000) {
    const n = Math.min(1000, TOTAL - done);
    await admin.data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount } }`, {
      inputs: Array.from({ length: n }, (_, i) => ({ type: 'orchestration.job.queued', data: { i: done + i } })),
    });
  }
  await admin.data(`mutation { publishEvent(input: { type: "pipeline.run.failed", data: {} }) { deliveryCount } }`);
}, 60_000);
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

function get(path: string, key?: string) {
  return fetch(`${service.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
}

/** A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      (row = []), (field = ''), i++;
    } else field += c;
  }
  return rows;
}

describe('delivery exports', () => {
  it('streams every matching delivery as CSV to a Bearer key, newest first, filtered by endpoint', async () => {
    const response = await get(`/exports/deliveries?format=csv&endpointId=${endpointId}`, service.adminKey);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="deliveries-.*\.csv"$/);
    const rows = parseCsv(await response.text());
    expect(rows[0]).toEqual([
      'deliveryId', 'status', 'eventId', 'eventType', 'endpointId', 'endpointUrl', 'attempts', 'isTest', 'orderingKey',
      'createdAt', 'lastAttemptAt', 'nextAttemptAt', 'completedAt', 'lastResponseStatus', 'lastErrorClass', 'lastErrorMessage',
    ]);
    const data = rows.slice(1);
    expect(data).toHaveLength(TOTAL);
    expect(new Set(data.map((r) => r[0])).size).toBe(TOTAL);
    expect(data.every((r) => r[4] === endpointId && r[3] === 'orchestration.job.queued')).toBe(true);
    expect(data[0]![5]).toBe(`${receiver.url}/hook?token=s3cret`);
    const ids = data.map((r) => r[0]!);
    expect([...ids].sort().reverse()).toEqual(ids);
  });

  it('hands the console a one-minute link (JSON here) that needs no header, and masks URL query strings for viewers', async () => {
    const admin = service.client();
    const { createDeliveryExport } = await admin.data(LINK, { filter: { endpointId }, format: 'JSON' });
    expect(createDeliveryExport.url).toMatch(/^\/exports\/deliveries\?token=/);
    expect(Date.parse(createDeliveryExport.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const response = await get(createDeliveryExport.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/\.json"$/);
    const rows = (await response.json()) as Record<string, unknown>[];
    expect(rows).toHaveLength(TOTAL);
    expect(Object.keys(rows[0]!)).toContain('lastErrorMessage');
    expect(rows[0]!.endpointUrl).toBe(`${receiver.url}/hook?token=s3cret`);

    const viewer = (await admin.data(CREATE_KEY, { role: 'VIEWER', name: 'export viewer' })).createApiKey;
    const viewerLink = (await service.client(viewer.key).data(LINK, { filter: { endpointId }, format: 'CSV' })).createDeliveryExport.url;
    const csv = await (await get(viewerLink)).text();
    expect(csv).not.toContain('s3cret');
    expect(csv).toContain(`${receiver.url}/hook?token=••••`);
  });

  it('refuses forged, expired and revoked links, publishers, and bad filters, with the right status', async () => {
    const admin = service.client();
    expect((await get('/exports/deliveries?token=not-a-token')).status).toBe(401);
    expect((await get('/exports/deliveries')).status).toBe(401);

    const operator = (await admin.data(CREATE_KEY, { role: 'OPERATOR', name: 'export operator' })).createApiKey;
    const link = (await service.client(operator.key).data(LINK, { format: 'CSV' })).createDeliveryExport.url;
    await admin.data(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: operator.apiKey.id });
    const revoked = await get(link);
    expect(revoked.status).toBe(401);
    expect((await revoked.json()).error).toMatch(/revoked/);

    const token = new URL(`http://x${(await admin.data(LINK, { format: 'CSV' })).createDeliveryExport.url}`).searchParams.get('token')!;
    const sealed = Buffer.from(token, 'base64url').toString('utf8');
    const parts = sealed.split('.');
    parts[3] = (parts[3]!.startsWith('A') ? 'B' : 'A') + parts[3]!.slice(1);
    const tampered = Buffer.from(parts.join('.')).toString('base64url');
    expect((await get(`/exports/deliveries?token=${tampered}`)).status).toBe(401);
    const expired = await service.services.deliveryExport.openLink(token, Date.now() + 61_000).catch((e: Error) => e);
    expect(expired).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/expired/) });

    const publisher = (await admin.data(CREATE_KEY, { role: 'PUBLISHER', name: 'export publisher' })).createApiKey.key;
    expect((await get('/exports/deliveries', publisher)).status).toBe(403);
    expect((await service.client(publisher).error(LINK, { format: 'CSV' })).code).toBe('FORBIDDEN');

    const badStatus = await get('/exports/deliveries?status=LOST', service.adminKey);
    expect(badStatus.status).toBe(400);
    expect((await badStatus.json()).field).toBe('status');
    expect((await get('/exports/deliveries?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z', service.adminKey)).status).toBe(400);
    expect((await admin.error(LINK, { format: 'CSV', filter: { since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' } })).code).toBe('BAD_USER_INPUT');
  });
});
