/**
 * The pure logic behind issue 18's console views (no browser): time ranges and chart windows,
 * search candidates, why a delivery waits, the endpoint form's wording, test payloads, and the
 * curl command (run for real against a loopback receiver).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketFor, resolveRange } from '../../client/shared/timeRange.js';
import { chartWindow } from '../../client/features/endpoints/statsSeries.js';
import { candidatesFor } from '../../client/features/events/lookup.js';
import { isReplayable, waitingFor } from '../../client/shared/deliveryState.js';
import { fieldLabel, humanizeMessage, placeProblems } from '../../client/features/endpoints/formProblems.js';
import { examplePayload, parsePayload } from '../../client/features/endpoints/testPayload.js';
import { buildCurl, headerVariable, SECRET_PLACEHOLDER, shellQuote } from '../../client/features/deliveries/curl.js';
import { createSigner, decodeHmacSecret } from '../../server/domain/signing.js';
import { verifyWebhook } from '../../server/verify.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const run = promisify(execFile);
const NOW = Date.parse('2026-12-01T12:00:00Z');

describe('time ranges', () => {
  it('resolves presets against now and refuses a reversed custom window in the console’s words', () => {
    expect(resolveRange('24h', {}, NOW)).toEqual({ ok: true, sinceMs: NOW - 86_400_000, untilMs: null });
    expect(resolveRange('custom', { since: '2026-12-01T10:00', until: '' }, NOW)).toMatchObject({ ok: true, untilMs: null });
    expect(resolveRange('custom', { since: '2026-12-05T10:00', until: '2026-12-01T10:00' }, NOW)).toEqual({
      ok: false,
      field: 'until',
      message: '“To” must be later than “From”. Swap the two dates, or pick a preset.',
    });
    expect(resolveRange('custom', { since: 'nonsense' }, NOW)).toMatchObject({ ok: false, field: 'since' });
    expect(resolveRange(null, {}, NOW)).toEqual({ ok: true, sinceMs: null, untilMs: null });
  });

  it('picks round buckets, about 60 per window', () => {
    expect(bucketFor(3_600_000, 60)).toBe(60);
    expect(bucketFor(86_400_000, 60)).toBe(1800);
    expect(bucketFor(7 * 86_400_000, 60)).toBe(10_800);
    expect(bucketFor(60_000, 60)).toBe(10);
  });

  it('charts a new endpoint since its creation, on bucket boundaries', () => {
    const created = NOW - 5 * 60_000;
    const w = chartWindow('7d', {}, created, NOW);
    expect(w).toMatchObject({ sinceCreation: true, untilMs: NOW, bucketSeconds: 10 });
    if ('error' in w) throw new Error(w.error);
    expect(w.sinceMs % 10_000).toBe(0);
    expect(w.sinceMs).toBeLessThanOrEqual(created);
    expect(chartWindow('1h', {}, NOW - 86_400_000, NOW)).toMatchObject({ sinceCreation: false, bucketSeconds: 60, sinceMs: NOW - 3_600_000 });
    expect(chartWindow('custom', { since: '2026-12-05T10:00', until: '2026-12-01T10:00' }, 0, NOW)).toHaveProperty('error');
  });
});

describe('search', () => {
  it('tries our ids first, then always the publisher’s eventId', () => {
    const evt = 'evt_01M8YDE2MXS2GHG4831G35N81T';
    const dlv = 'dlv_01M8YDE2N82K9AJC0NNC23XMES';
    expect(candidatesFor(` ${evt} `)).toEqual([{ kind: 'event', id: evt }, { kind: 'eventId', key: evt }]);
    expect(candidatesFor(dlv)).toEqual([{ kind: 'delivery', id: dlv }, { kind: 'eventId', key: dlv }]);
    // Pasted in other cases (a log line lower-cased it) still finds the id.
    expect(candidatesFor(evt.toLowerCase())[0]).toEqual({ kind: 'event', id: evt });
    expect(candidatesFor('run_8841:failed')).toEqual([{ kind: 'eventId', key: 'run_8841:failed' }]);
    expect(candidatesFor('   ')).toEqual([]);
  });
});

describe('why a delivery waits', () => {
  const pending = { status: 'PENDING' as const, attemptCount: 0, nextAttemptAt: null, parked: false, isTest: false };
  const closed = { active: true, circuitState: 'CLOSED' as const, circuitOpenUntil: null };
  it('puts the endpoint first: paused, circuit open, probing; then ordering, queue, retry', () => {
    expect(waitingFor(pending, { ...closed, active: false })?.kind).toBe('paused');
    expect(waitingFor({ ...pending, attemptCount: 3, nextAttemptAt: '2026-12-01T13:00:00Z' }, { ...closed, circuitState: 'OPEN', circuitOpenUntil: '2026-12-01T12:30:00Z' })).toMatchObject({
      kind: 'circuit-open',
      at: '2026-12-01T12:30:00Z',
    });
    expect(waitingFor(pending, { ...closed, circuitState: 'HALF_OPEN' })?.kind).toBe('probing');
    expect(waitingFor({ ...pending, parked: true }, closed)?.kind).toBe('ordering');
    expect(waitingFor(pending, closed)).toMatchObject({ kind: 'queued', detail: expect.stringContaining('first attempt is queued') });
    expect(waitingFor({ ...pending, attemptCount: 2, nextAttemptAt: 'x' }, closed)).toMatchObject({ kind: 'retry', at: 'x' });
    expect(waitingFor({ ...pending, status: 'DEAD' }, closed)).toBeNull();
    expect(isReplayable({ ...pending, status: 'DEAD' })).toBe(true);
  });
});

describe('endpoint form wording', () => {
  it('speaks the form’s labels, not API paths', () => {
    expect(humanizeMessage('retryPolicy.maxAttempts must be a whole number between 1 and 50 (got 0).')).toBe('Max attempts must be a whole number between 1 and 50 (got 0).');
    expect(humanizeMessage('labels[1] "x" repeats labels[0]; give each label once.')).toBe('Label 2 "x" repeats Label 1; give each label once.');
    expect(humanizeMessage('rateLimitPerSecond must be between 1 and 100000, or null for no limit (got 0).')).toBe('Rate limit must be between 1 and 100000, or empty for no limit (got 0).');
    expect(humanizeMessage('url must start with https://')).toBe('URL must start with https://');
    expect(humanizeMessage('An endpoint has at most 20 labels (got 25).')).toBe('An endpoint has at most 20 labels (got 25).');
    expect(fieldLabel('headers[0].value')).toBe('Header 1 value');
    expect(placeProblems({ 'labels[1]': 'labels[1] is too long.' }).placed).toEqual({ labels: 'Label 2 is too long.' });
  });
});

describe('test payloads', () => {
  it('starts from the schema or a sample, and refuses what is not a JSON object', () => {
    const schema = { type: 'object', required: ['invoiceId'], properties: { invoiceId: { type: 'string' }, amount: { type: 'number', minimum: 1 }, at: { type: 'string', format: 'date-time' } } };
    expect(JSON.parse(examplePayload('acme.invoice.paid', schema))).toEqual({ invoiceId: 'string', amount: 1, at: '2026-12-01T00:00:00Z' });
    expect(JSON.parse(examplePayload('pipeline.run.failed', null))).toMatchObject({ runId: 'run_8841' });
    expect(JSON.parse(examplePayload('acme.unknown', null))).toEqual({});
    expect(parsePayload('{"a": 1}')).toEqual({ ok: true, data: { a: 1 } });
    expect(parsePayload('[1]')).toMatchObject({ ok: false, message: expect.stringContaining('JSON object') });
    expect(parsePayload('{')).toMatchObject({ ok: false, message: expect.stringContaining('Not valid JSON') });
  });
});

describe('copy as curl', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('quotes for bash and names header variables', () => {
    expect(shellQuote(`it's "x" $HOME`)).toBe(`'it'\\''s "x" $HOME'`);
    expect(headerVariable('x-api-token')).toBe('X_API_TOKEN');
    expect(headerVariable('1-x')).toBe('HEADER_1_X');
  });

  it('re-signs the exact body with a fresh timestamp for HMAC endpoints, custom secrets as variables', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = `{"id":"evt_1","type":"pipeline.run.failed","timestamp":"2026-12-01T10:00:00.000Z","data":{"note": "it's $HOME and \`date\` \\"quoted\\""}}`;
    const recordedTs = 1_764_000_000;
    const curl = buildCurl({
      url: `${receiver.url}/hook?x=1&y=2`,
      headers: {
        'x-api-token': '••••',
        'content-type': 'application/json',
        'user-agent': 'org-webhooks/0.1',
        'webhook-id': 'evt_1',
        'webhook-timestamp': String(recordedTs),
        'webhook-signature': createSigner([{ algorithm: 'HMAC_SHA256', secret: decodeHmacSecret(secret) }])('evt_1', recordedTs, body),
      },
      body,
      algorithm: 'HMAC_SHA256',
      label: 'Attempt 1 of delivery dlv_1',
    });
    expect(curl).toContain(SECRET_PLACEHOLDER);
    expect(curl).not.toContain(String(recordedTs));
    const script = curl.replace(SECRET_PLACEHOLDER, secret).replace("X_API_TOKEN='REPLACE_ME'", "X_API_TOKEN='t0ken'");
    await run('bash', ['-c', script]);
    const got = receiver.requests.at(-1)!;
    expect(got.path).toBe('/hook?x=1&y=2');
    expect(got.rawBody).toBe(body);
    expect(got.headers['x-api-token']).toBe('t0ken');
    expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    expect(verifyWebhook(got.rawBody, got.headers, { secret })).toMatchObject({ id: 'evt_1' });
  });

  it('resends the recorded signature for Ed25519 endpoints, saying why', async () => {
    const curl = buildCurl({
      url: `${receiver.url}/ed`,
      headers: { 'webhook-id': 'evt_2', 'webhook-timestamp': '1764000000', 'webhook-signature': 'v1a,abc=', 'content-type': 'application/json' },
      body: '{"id":"evt_2"}',
      algorithm: 'ED25519',
      label: 'x',
    });
    expect(curl).toMatch(/private key never leaves the service/);
    expect(curl).not.toContain('WEBHOOK_SECRET');
    await run('bash', ['-c', curl]);
    expect(receiver.requests.at(-1)!.headers).toMatchObject({ 'webhook-signature': 'v1a,abc=', 'webhook-timestamp': '1764000000' });
  });
});
