/**
 * The console's pure logic (no browser): the event-type picker's patterns, the endpoint form's
 * conversion to API input, error placement, formatting, chart series, the live stream's pause
 * buffer, replay rules and role permissions.
 */
import { describe, expect, it } from 'vitest';
import type { CombinedError } from 'urql';
import {
  checkCustomPattern,
  closestNames,
  coveringPattern,
  describePattern,
  groupByCategory,
  isValidPattern,
  matchesPattern,
  matchingTypes,
  patternCovers,
  togglePattern,
  type CatalogType,
} from '../../client/features/endpoints/patterns.js';
import {
  buildEndpointInput,
  defaultFormState,
  formStateFromEndpoint,
  parseLabels,
  retryDelays,
  type EndpointSettingsData,
} from '../../client/features/endpoints/formModel.js';
import { formFieldFor, placeProblems } from '../../client/features/endpoints/formProblems.js';
import { statsSeries } from '../../client/features/endpoints/statsSeries.js';
import { emptyStream, flush, receive } from '../../client/features/live/attemptBuffer.js';
import { isReplayable, parseStatuses, replayStatuses } from '../../client/features/deliveries/replay.js';
import { fieldProblems, errorMessage, normalizeFieldPath } from '../../client/shared/errors.js';
import {
  formatCount,
  formatDuration,
  formatPercent,
  formatRelative,
  formatSeconds,
  fromLocalInput,
  prettyJson,
  shortUrl,
  toLocalInput,
} from '../../client/shared/format.js';
import { permissionsOf } from '../../client/shared/session.js';

const CATALOG: CatalogType[] = [
  { name: 'pipeline.run.started', category: 'pipeline' },
  { name: 'pipeline.run.succeeded', category: 'pipeline' },
  { name: 'pipeline.run.failed', category: 'pipeline' },
  { name: 'security.api_key.created', category: 'security' },
  { name: 'security.policy.changed', category: 'security' },
  { name: 'webhook.test', category: 'webhook' },
  { name: 'acme.invoice.paid', category: 'billing' },
  { name: 'acme.invoice.failed', category: 'billing' },
  { name: 'acme.user.created', category: 'users' },
];

describe('event-type patterns', () => {
  it('accepts full types, dot prefixes ending in .* and *', () => {
    for (const p of ['*', 'pipeline.run.failed', 'security.*', 'pipeline.run.*', 'a_1.b2']) expect(isValidPattern(p)).toBe(true);
    for (const p of ['', 'pipeline', 'security*', 'security.', '.run', 'Pipeline.run', 'pipeline..run', 'pipeline.*.failed', '**', 'x'.repeat(129) + '.a']) {
      expect(isValidPattern(p), p).toBe(false);
    }
  });

  it('matches like the server: a prefix covers every depth below it, not the prefix itself', () => {
    expect(matchesPattern('security.*', 'security.api_key.created')).toBe(true);
    expect(matchesPattern('security.*', 'securityx.a')).toBe(false);
    expect(matchesPattern('pipeline.run.*', 'pipeline.run.failed')).toBe(true);
    expect(matchesPattern('*', 'anything.at_all')).toBe(true);
    expect(matchesPattern('pipeline.run.failed', 'pipeline.run.failed')).toBe(true);
    expect(matchesPattern('pipeline.run.failed', 'pipeline.run.failed_late')).toBe(false);
    expect(matchingTypes('acme.*', CATALOG)).toEqual(['acme.invoice.paid', 'acme.invoice.failed', 'acme.user.created']);
  });

  it('knows which patterns cover others', () => {
    expect(patternCovers('*', 'security.*')).toBe(true);
    expect(patternCovers('security.*', 'security.policy.changed')).toBe(true);
    expect(patternCovers('pipeline.*', 'pipeline.run.*')).toBe(true);
    expect(patternCovers('pipeline.run.*', 'pipeline.*')).toBe(false);
    expect(patternCovers('security.*', 'security.*')).toBe(false);
    expect(patternCovers('pipeline.run.failed', 'pipeline.run.failed')).toBe(false);
    expect(coveringPattern('security.policy.changed', ['pipeline.*', 'security.*'])).toBe('security.*');
    expect(coveringPattern('security.policy.changed', ['security.policy.changed'])).toBeNull();
  });

  it('groups by category with the wildcard that selects exactly that category', () => {
    const groups = groupByCategory(CATALOG);
    expect(groups.map((g) => [g.category, g.wildcard])).toEqual([
      ['billing', 'acme.invoice.*'],
      ['pipeline', 'pipeline.*'],
      ['security', 'security.*'],
      // acme.* would also select billing's types: no wildcard for this category.
      ['users', 'acme.user.*'],
      ['webhook', 'webhook.*'],
    ]);
    expect(groups.find((g) => g.category === 'pipeline')!.types.map((t) => t.name)).toEqual(['pipeline.run.failed', 'pipeline.run.started', 'pipeline.run.succeeded']);
  });

  it('toggles patterns, folding the ones a new wildcard makes redundant', () => {
    let selected = togglePattern([], 'security.policy.changed');
    selected = togglePattern(selected, 'pipeline.run.failed');
    expect(selected).toEqual(['security.policy.changed', 'pipeline.run.failed']);
    selected = togglePattern(selected, 'security.*');
    expect(selected).toEqual(['pipeline.run.failed', 'security.*']);
    expect(togglePattern(selected, 'security.api_key.created')).toEqual(selected);
    expect(togglePattern(selected, '*')).toEqual(['*']);
    expect(togglePattern(['*'], '*')).toEqual([]);
    expect(togglePattern(selected, 'security.*')).toEqual(['pipeline.run.failed']);
  });

  it('explains why a typed pattern cannot be added', () => {
    expect(checkCustomPattern('pipeline.run.*', CATALOG, [])).toBeNull();
    expect(checkCustomPattern('  ', CATALOG, [])).toMatch(/Type a pattern/);
    expect(checkCustomPattern('Pipeline.*', CATALOG, [])).toMatch(/lowercase/);
    expect(checkCustomPattern('pipeline.run.*', CATALOG, ['pipeline.*'])).toMatch(/already covered by pipeline\.\*/);
    expect(checkCustomPattern('webhook.test', CATALOG, ['webhook.test'])).toMatch(/already selected/);
    expect(checkCustomPattern('pipeline.run.faild', CATALOG, [])).toMatch(/matches no event type in the catalog; did you mean pipeline\.run\.failed/);
    expect(checkCustomPattern('nothing.*', CATALOG, [])).toMatch(/matches no event type/);
    expect(closestNames('securty', ['security.policy.changed', 'security', 'webhook.test'], 1)).toEqual(['security']);
  });

  it('describes what a pattern selects', () => {
    expect(describePattern('*', CATALOG)).toMatch(/every event type/);
    expect(describePattern('pipeline.*', CATALOG)).toBe('3 types now, and any added below pipeline');
    expect(describePattern('webhook.test', CATALOG)).toBe('one type');
  });
});

describe('endpoint form', () => {
  const endpoint: EndpointSettingsData = {
    url: 'https://example.com/hooks',
    description: 'Alerts',
    labels: ['team:security', 'prod'],
    eventSubscriptions: [{ pattern: 'security.*' }],
    signingAlgorithm: 'HMAC_SHA256',
    timeoutMs: 5000,
    retryPolicy: { maxAttempts: 3, initialBackoffSeconds: 10, multiplier: 2.5, maxBackoffSeconds: 600 },
    circuitBreaker: { enabled: false, failureThreshold: 4, cooldownSeconds: 30 },
    maxInFlight: 4,
    rateLimitPerSecond: null,
    orderingMode: 'STRICT',
    headers: [{ name: 'x-team', value: 'sec' }],
    tls: null,
  };

  it('builds CreateEndpointInput with the defaults of SPEC §3', () => {
    const state = { ...defaultFormState(), url: ' https://example.com/h ', labels: 'a, b,\nc,,', patterns: ['pipeline.*'] };
    const { input, problems } = buildEndpointInput(state, 'create');
    expect(problems).toEqual({});
    expect(input).toEqual({
      url: 'https://example.com/h',
      description: '',
      labels: ['a', 'b', 'c'],
      patterns: ['pipeline.*'],
      timeoutMs: 15000,
      retryPolicy: { maxAttempts: 8, initialBackoffSeconds: 5, multiplier: 6, maxBackoffSeconds: 36000 },
      circuitBreaker: { enabled: true, failureThreshold: 10, cooldownSeconds: 60 },
      maxInFlight: 16,
      orderingMode: 'BEST_EFFORT',
      headers: [],
      signingAlgorithm: 'HMAC_SHA256',
    });
  });

  it('round-trips an endpoint into UpdateEndpointInput (no signing algorithm; empty rate limit resets it)', () => {
    const { input, problems } = buildEndpointInput(formStateFromEndpoint(endpoint), 'edit');
    expect(problems).toEqual({});
    expect(input).toEqual({
      url: endpoint.url,
      description: 'Alerts',
      labels: ['team:security', 'prod'],
      patterns: ['security.*'],
      timeoutMs: 5000,
      retryPolicy: endpoint.retryPolicy,
      circuitBreaker: endpoint.circuitBreaker,
      maxInFlight: 4,
      rateLimitPerSecond: null,
      orderingMode: 'STRICT',
      headers: [{ name: 'x-team', value: 'sec' }],
      tls: null,
      // Empty filter and transformation fields mean "none" on save.
      filter: null,
      transformation: null,
    });
    const withTls = formStateFromEndpoint({ ...endpoint, tls: { hasClientKey: true } });
    expect(withTls.tlsMode).toBe('keep');
    expect('tls' in buildEndpointInput(withTls, 'edit').input).toBe(false);
  });

  it('reports shape problems on their fields before sending', () => {
    const state = defaultFormState();
    state.timeoutMs = '15s';
    state.retryPolicy.multiplier = 'two';
    state.rateLimitPerSecond = '99999999999';
    state.headers = [{ name: '', value: 'orphan' }, { name: '', value: '' }];
    state.tlsMode = 'set';
    const { problems, input } = buildEndpointInput(state, 'create');
    expect(Object.keys(problems).sort()).toEqual(['headers[0].name', 'rateLimitPerSecond', 'retryPolicy.multiplier', 'timeoutMs', 'tls', 'url']);
    expect(problems.timeoutMs).toBe('Timeout must be a whole number.');
    expect(input.headers).toEqual([{ name: '', value: 'orphan' }]);
  });

  it('sends mTLS PEMs only when set', () => {
    const state = { ...defaultFormState(), url: 'https://x.example', tlsMode: 'set' as const, tls: { clientCertificatePem: ' CERT ', clientKeyPem: 'KEY', caCertificatePem: '' } };
    expect(buildEndpointInput(state, 'create').input.tls).toEqual({ clientCertificatePem: 'CERT', clientKeyPem: 'KEY' });
    expect('tls' in buildEndpointInput({ ...state, tlsMode: 'none' }, 'create').input).toBe(false);
  });

  it('places API problems on form fields and keeps the rest for the top of the form', () => {
    expect(formFieldFor('labels[3]')).toBe('labels');
    expect(formFieldFor('patterns[0]')).toBe('patterns');
    expect(formFieldFor('headers[2].value')).toBe('headers[2].value');
    expect(formFieldFor('retryPolicy.maxAttempts')).toBe('retryPolicy.maxAttempts');
    expect(formFieldFor('first')).toBeNull();
    expect(placeProblems({ 'labels[0]': 'A.', 'labels[1]': 'B.', id: 'C.' })).toEqual({ placed: { labels: 'A. B.' }, unplaced: ['C.'] });
    expect(parseLabels(' x ,y\n')).toEqual(['x', 'y']);
  });

  it('previews the retry schedule', () => {
    expect(retryDelays(defaultFormState().retryPolicy)).toEqual([5, 30, 180, 1080, 6480, 36000, 36000]);
    expect(retryDelays({ maxAttempts: '1', initialBackoffSeconds: '5', multiplier: '6', maxBackoffSeconds: '10' })).toEqual([]);
    expect(retryDelays({ maxAttempts: 'x', initialBackoffSeconds: '5', multiplier: '6', maxBackoffSeconds: '10' })).toBeNull();
  });
});

describe('API errors', () => {
  const combined = (errors: { message: string; extensions?: Record<string, unknown> }[]) =>
    ({ graphQLErrors: errors, message: `[GraphQL] ${errors.map((e) => e.message).join(', ')}` }) as unknown as CombinedError;

  it('maps BAD_USER_INPUT problems, a single field, and variable coercion errors onto field paths', () => {
    expect(
      fieldProblems(
        combined([
          {
            message: 'two problems',
            extensions: {
              code: 'BAD_USER_INPUT',
              field: 'timeoutMs',
              problems: [
                { field: 'timeoutMs', message: 'timeoutMs must be between 1000 and 30000.' },
                { field: 'input.retryPolicy.maxAttempts', message: 'too many.' },
              ],
            },
          },
        ]),
      ),
    ).toEqual({ timeoutMs: 'timeoutMs must be between 1000 and 30000.', 'retryPolicy.maxAttempts': 'too many.' });
    expect(fieldProblems(combined([{ message: '"since" must be before "until".', extensions: { code: 'BAD_USER_INPUT', field: 'filter.since' } }]))).toEqual({
      since: '"since" must be before "until".',
    });
    expect(
      fieldProblems(
        combined([{ message: 'Variable "$input" got invalid value 1e12 at "input.timeoutMs"; Int cannot represent non 32-bit signed integer value: 1e12', extensions: { code: 'BAD_USER_INPUT' } }]),
      ),
    ).toEqual({ timeoutMs: 'Int cannot represent non 32-bit signed integer value: 1e12' });
    expect(fieldProblems(combined([{ message: 'nope', extensions: { code: 'FORBIDDEN', field: 'x' } }]))).toEqual({});
    expect(normalizeFieldPath('inputs[3].type')).toBe('type');
  });

  it('turns errors into sentences', () => {
    expect(errorMessage(combined([{ message: 'A.' }, { message: 'A.' }, { message: 'B.' }]))).toBe('A. B.');
    expect(errorMessage({ graphQLErrors: [], networkError: new Error('Failed to fetch'), message: '[Network] Failed to fetch' } as unknown as CombinedError)).toMatch(
      /Cannot reach the server \(Failed to fetch\)/,
    );
    expect(errorMessage(null)).toBe('');
  });
});

describe('formatting', () => {
  it('formats durations, percentages and counts', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(1520)).toBe('1.52 s');
    expect(formatDuration(15_000)).toBe('15.0 s');
    expect(formatDuration(95_000)).toBe('1 min 35 s');
    expect(formatDuration(36_000_000)).toBe('10 h');
    expect(formatDuration(null)).toBe('—');
    expect(formatSeconds(86_400)).toBe('1 d');
    expect(formatSeconds(3_600)).toBe('1 h');
    expect(formatSeconds(45)).toBe('45 s');
    expect(formatPercent(0.9876)).toBe('98.8%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(null)).toBe('—');
    expect(formatCount(1234567)).toBe('1\u202f234\u202f567');
  });

  it('formats relative times against a given now', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(formatRelative('2026-11-26T11:59:55Z', now)).toBe('just now');
    expect(formatRelative('2026-11-26T11:59:30Z', now)).toBe('30 s ago');
    expect(formatRelative('2026-11-26T11:55:00Z', now)).toBe('5 min ago');
    expect(formatRelative('2026-11-26T15:00:00Z', now)).toBe('in 3 h');
    expect(formatRelative('2026-11-24T12:00:00Z', now)).toBe('2 d ago');
    expect(formatRelative(null, now)).toBe('—');
  });

  it('round-trips datetime-local values and shortens URLs', () => {
    const iso = fromLocalInput('2026-11-26T18:40')!;
    expect(toLocalInput(iso)).toBe('2026-11-26T18:40');
    expect(fromLocalInput('')).toBeNull();
    expect(shortUrl('https://example.com/hooks')).toBe('example.com/hooks');
    const long = shortUrl(`https://example.com/${'a'.repeat(100)}/end`, 30);
    expect(long).toHaveLength(30);
    expect(long).toContain('…');
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJson('not json')).toBe('not json');
  });
});

describe('charts', () => {
  it('derives volume, error classes, success rate and latency series from deliveryStats buckets, gaps as null', () => {
    const series = statsSeries([
      { start: '2026-11-26T10:01:00Z', succeeded: 0, failed: 0, total: 0, p50: null, p95: null, p99: null, failuresByErrorClass: [] },
      {
        start: '2026-11-26T10:00:00Z',
        succeeded: 3,
        failed: 1,
        total: 4,
        p50: 20,
        p95: 80,
        p99: 95,
        failuresByErrorClass: [{ errorClass: 'TIMEOUT', count: 1 }],
      },
    ]);
    expect(series.times).toEqual([Date.parse('2026-11-26T10:00:00Z'), Date.parse('2026-11-26T10:01:00Z')]);
    expect(series.successRate).toEqual([75, null]);
    expect(series.p95).toEqual([80, null]);
    expect(series.p99).toEqual([95, null]);
    expect(series.succeeded).toEqual([3, 0]);
    expect(series.failed).toEqual([1, 0]);
    expect(series.errorClasses).toEqual([{ errorClass: 'TIMEOUT', values: [1, 0] }]);
    expect(series.totals).toEqual({ total: 4, succeeded: 3, failed: 1, rate: 0.75, worstP95: 80 });
    expect(statsSeries([]).totals.rate).toBeNull();
  });
});

describe('live stream buffer', () => {
  it('shows arrivals newest first, buffers while paused (dropping the oldest past the limit) and flushes on resume', () => {
    let s = receive(emptyStream<number>(), [1, 2, 3], false, 4, 2);
    expect(s.rows).toEqual([3, 2, 1]);
    s = receive(s, [4, 5, 6], true, 4, 2);
    expect(s.rows).toEqual([3, 2, 1]);
    expect(s.buffer).toEqual([6, 5]);
    expect(s.dropped).toBe(1);
    expect(s.received).toBe(6);
    s = flush(s, 4);
    expect(s.rows).toEqual([6, 5, 3, 2]);
    expect(s.buffer).toEqual([]);
    expect(receive(s, [], false, 4, 2)).toBe(s);
  });
});

describe('replay rules', () => {
  it('replays dead and failed pending deliveries, never tests or parked ones', () => {
    expect(isReplayable({ status: 'DEAD', attemptCount: 8, parked: false, isTest: false })).toBe(true);
    expect(isReplayable({ status: 'PENDING', attemptCount: 2, parked: false, isTest: false })).toBe(true);
    expect(isReplayable({ status: 'PENDING', attemptCount: 0, parked: false, isTest: false })).toBe(false);
    expect(isReplayable({ status: 'PENDING', attemptCount: 2, parked: true, isTest: false })).toBe(false);
    expect(isReplayable({ status: 'DEAD', attemptCount: 1, parked: false, isTest: true })).toBe(false);
    expect(isReplayable({ status: 'SUCCEEDED', attemptCount: 1, parked: false, isTest: false })).toBe(false);
    expect(replayStatuses(null)).toEqual({ statuses: ['DEAD'], unsupported: [] });
    expect(replayStatuses(['SUCCEEDED', 'PENDING'])).toEqual({ statuses: ['PENDING'], unsupported: ['SUCCEEDED'] });
    expect(parseStatuses('dead, PENDING,bogus')).toEqual(['DEAD', 'PENDING']);
  });
});

describe('permissions', () => {
  it('follows the roles of SPEC §2 and the enterprise-only settings', () => {
    expect(permissionsOf({ role: 'VIEWER', plan: 'enterprise' })).toMatchObject({ read: true, seePayloads: false, operate: false, manageSettings: false, manageOrg: false });
    expect(permissionsOf({ role: 'OPERATOR', plan: 'enterprise' })).toMatchObject({ seePayloads: true, operate: true, manageSettings: false, manageOrg: false });
    expect(permissionsOf({ role: 'ADMIN', plan: 'enterprise' })).toMatchObject({ operate: true, manageSettings: true, manageOrg: true });
    expect(permissionsOf({ role: 'ADMIN', plan: 'professional' })).toMatchObject({ operate: false, manageSettings: false, manageOrg: true, roleCanManage: true });
    expect(permissionsOf({ role: 'PUBLISHER', plan: 'enterprise' }).read).toBe(false);
  });
});
