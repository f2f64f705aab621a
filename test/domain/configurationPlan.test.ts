import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DOCUMENT_LIMITS, exportDocument, parseDocument } from '../../server/domain/configuration/document.js';
import { ENDPOINT_FIELDS, ENDPOINT_FIELD_NAMES, endpointFieldOf, type CurrentEndpoint } from '../../server/domain/configuration/endpointFields.js';
import { EVENT_TYPE_FIELD_NAMES, exportEventType, type CurrentEventType } from '../../server/domain/configuration/eventTypeFields.js';
import { objectPath, planConfiguration, settleEndpointUpdate, withinObject, type CurrentState, type EndpointChange } from '../../server/domain/configuration/plan.js';
import { isUnchanged, readSecretValue, resolveSecret, UNCHANGED } from '../../server/domain/configuration/secretValues.js';
import { pathOf, readObject, sameJson } from '../../server/domain/configuration/shapes.js';
import { DEFAULT_ENDPOINT_SETTINGS } from '../../server/domain/endpointSettings.js';
import type { InputProblem } from '../../server/domain/errors.js';
import { makeId } from '../../server/domain/ids.js';

const BUILT_INS = ['pipeline.run.failed', 'security.policy.changed', 'webhook.test'];
let seq = 0;
const id = (kind: 'endpoint' | 'eventType') => makeId(kind, 1_700_000_000_000 + seq++, new Uint8Array(10).fill(seq % 256));

function endpoint(overrides: Partial<CurrentEndpoint['settings']> = {}, extra: Partial<CurrentEndpoint> = {}): CurrentEndpoint {
  return {
    id: id('endpoint'),
    uid: 'hooks',
    patterns: ['pipeline.run.failed'],
    settings: { ...structuredClone(DEFAULT_ENDPOINT_SETTINGS), url: 'https://hooks.example.com/in', ...overrides },
    ...extra,
  };
}

function eventType(overrides: Partial<CurrentEventType> = {}): CurrentEventType {
  return { id: id('eventType'), name: 'acme.thing.done', uid: null, category: 'acme', description: '', schema: null, deprecated: false, ...overrides };
}

const state = (endpoints: CurrentEndpoint[] = [], eventTypes: CurrentEventType[] = []): CurrentState => ({ endpoints, eventTypes, builtInEventTypes: BUILT_INS });

function plan(document: unknown, current: CurrentState, prune = false) {
  const problems: InputProblem[] = [];
  const result = planConfiguration(document, current, { prune }, problems);
  return { ...result, problems, fields: problems.map((p) => p.field).sort() };
}

const actions = (p: ReturnType<typeof plan>) => p.changes.map((c) => `${c.kind}:${c.key}:${c.action}:${c.changedFields.join(',')}`);

describe('parseDocument', () => {
  it('reads both sections and refuses other shapes, each problem at its path', () => {
    const problems: InputProblem[] = [];
    expect(parseDocument({ version: 1, endpoints: { a: {} }, eventTypes: { 'x.y': {} } }, problems)).toEqual({ endpoints: [['a', {}]], eventTypes: [['x.y', {}]] });
    expect(parseDocument({}, problems)).toEqual({ endpoints: [], eventTypes: [] });
    expect(parseDocument({ endpoints: null }, problems)).toEqual({ endpoints: [], eventTypes: [] });
    expect(problems).toEqual([]);
    for (const [raw, field] of [
      [[], 'document'],
      ['x', 'document'],
      [null, 'document'],
      [{ version: 2 }, 'version'],
      [{ version: '1' }, 'version'],
      [{ endpoints: [] }, 'endpoints'],
      [{ eventTypes: 'a' }, 'eventTypes'],
      [{ other: 1 }, 'document.other'],
    ] as const) {
      const found: InputProblem[] = [];
      parseDocument(raw, found);
      expect(found.map((p) => p.field), JSON.stringify(raw)).toEqual([field]);
    }
  });

  it('limits the entries of a section', () => {
    const problems: InputProblem[] = [];
    const endpoints = Object.fromEntries(Array.from({ length: DOCUMENT_LIMITS.endpoints + 1 }, (_, i) => [`e${i}`, {}]));
    expect(parseDocument({ endpoints }, problems).endpoints).toEqual([]);
    expect(problems[0]!.message).toContain(`at most ${DOCUMENT_LIMITS.endpoints}`);
  });
});

describe('planConfiguration: endpoints', () => {
  it('creates unknown uids with every setting, defaults for what is left out', () => {
    const p = plan({ endpoints: { fresh: { url: 'https://a.example.com/', timeoutMs: 5000, patterns: ['webhook.test'] } } }, state());
    expect(p.problems).toEqual([]);
    const change = p.changes[0] as EndpointChange;
    expect(change).toMatchObject({ kind: 'ENDPOINT', key: 'fresh', action: 'CREATE', changedFields: ['url', 'timeoutMs', 'patterns'], current: null });
    expect(change.input).toMatchObject({ uid: 'fresh', url: 'https://a.example.com/', timeoutMs: 5000, maxInFlight: 16, headers: [], tls: null, signingAlgorithm: 'HMAC_SHA256', patterns: ['webhook.test'] });
    expect(change.input.retryPolicy).toEqual(DEFAULT_ENDPOINT_SETTINGS.retryPolicy);
  });

  it('matches by uid or by id, and names the parts that differ', () => {
    const byUid = endpoint({ headers: [{ name: 'X-A', value: '1' }] });
    const byId = endpoint({}, { uid: null, patterns: [] });
    const p = plan(
      {
        endpoints: {
          hooks: { url: byUid.settings.url, headers: { 'X-A': '2', 'X-B': '3' }, retryPolicy: { maxAttempts: 2 }, patterns: ['pipeline.run.failed'] },
          [byId.id]: { url: byId.settings.url },
        },
      },
      state([byUid, byId]),
    );
    expect(p.problems).toEqual([]);
    expect(actions(p)).toEqual([`ENDPOINT:hooks:UPDATE:retryPolicy.maxAttempts,headers["X-A"],headers["X-B"]`, `ENDPOINT:${byId.id}:UNCHANGED:`]);
    expect(Object.keys((p.changes[0] as EndpointChange).input)).toEqual(['retryPolicy', 'headers']);
  });

  it('refuses unknown ids, bad uid keys, one endpoint listed twice, and a missing url', () => {
    const e = endpoint();
    const unknown = id('endpoint');
    const p = plan({ endpoints: { [unknown]: { url: 'https://x/' }, 'no spaces': { url: 'https://x/' }, hooks: { url: 'https://x/' }, [e.id]: { url: 'https://x/' }, nourl: {} } }, state([e]));
    expect(p.fields).toEqual([objectPath('ENDPOINT', e.id), objectPath('ENDPOINT', unknown), 'endpoints.nourl.url', 'endpoints["no spaces"]'].sort());
    expect(p.problems.find((x) => x.field === objectPath('ENDPOINT', e.id))!.message).toContain('endpoints.hooks');
  });

  it('deletes what is left out only with prune; otherwise lists it as unmanaged', () => {
    const kept = endpoint();
    const gone = endpoint({}, { uid: 'gone' });
    const anonymous = endpoint({}, { uid: null });
    const doc = { endpoints: { hooks: { url: kept.settings.url, patterns: kept.patterns } } };
    const without = plan(doc, state([kept, gone, anonymous]));
    expect(actions(without)).toEqual(['ENDPOINT:hooks:UNCHANGED:']);
    expect(without.unmanaged).toEqual([{ kind: 'ENDPOINT', key: 'gone' }, { kind: 'ENDPOINT', key: anonymous.id }]);
    const withPrune = plan(doc, state([kept, gone, anonymous]), true);
    expect(actions(withPrune)).toEqual(['ENDPOINT:hooks:UNCHANGED:', 'ENDPOINT:gone:DELETE:', `ENDPOINT:${anonymous.id}:DELETE:`]);
    expect(withPrune.unmanaged).toEqual([]);
    expect(actions(plan({}, state([kept]), true))).toEqual(['ENDPOINT:hooks:DELETE:']);
  });

  it('shows values before and after for plain settings, never a secret', () => {
    const e = endpoint({
      url: 'https://h.example.com/in?token=abc',
      headers: [{ name: 'Authorization', value: 'Bearer old' }],
      tls: { clientCertificatePem: null, clientKeyPem: null, caCertificatePem: 'not a pem\n' },
    });
    const p = plan(
      {
        endpoints: {
          hooks: {
            url: 'https://h.example.com/v2?token=new',
            headers: { Authorization: 'Bearer new' },
            retryPolicy: { maxAttempts: 3 },
            tls: null,
            patterns: ['security.*', 'pipeline.run.failed'],
          },
          fresh: { url: 'https://f.example.com/?k=secret', headers: { A: 'secret' }, timeoutMs: 2000 },
        },
      },
      state([e]),
    );
    const [update, create] = p.changes as EndpointChange[];
    expect(update!.fields).toEqual([
      { field: 'url', before: 'https://h.example.com/in?••••', after: 'https://h.example.com/v2?••••', secret: false },
      { field: 'retryPolicy.maxAttempts', before: 8, after: 3, secret: false },
      { field: 'headers.Authorization', before: null, after: null, secret: true },
      { field: 'tls', before: { clientCertificatePem: null, clientKeyPem: null, caCertificatePem: '(certificate)' }, after: null, secret: false },
      { field: 'patterns', before: ['pipeline.run.failed'], after: ['pipeline.run.failed', 'security.*'], secret: false },
    ]);
    expect(create!.fields).toEqual([
      { field: 'url', before: null, after: 'https://f.example.com/?••••', secret: false },
      { field: 'timeoutMs', before: null, after: 2000, secret: false },
      { field: 'headers', before: null, after: null, secret: true },
    ]);
    expect(JSON.stringify(p.changes.map((c) => c.fields))).not.toMatch(/:"secret"|Bearer|token=|k=/);
  });

  it('a signing algorithm change is a rotation, not an input', () => {
    const e = endpoint({ signingAlgorithm: 'ED25519' });
    const change = plan({ endpoints: { hooks: { url: e.settings.url, patterns: e.patterns } } }, state([e])).changes[0] as EndpointChange;
    expect(change).toMatchObject({ action: 'UPDATE', changedFields: ['signingAlgorithm'], rotateTo: 'HMAC_SHA256', input: {} });
  });

  it('resolves secret references against the endpoint as it is', () => {
    const e = endpoint({
      url: 'https://h.example.com/in?token=abc',
      headers: [{ name: 'Authorization', value: 'Bearer s' }],
      tls: { clientCertificatePem: 'CERT\n', clientKeyPem: 'KEY\n', caCertificatePem: null },
    });
    const kept = plan(
      { endpoints: { hooks: { url: { base: 'https://h.example.com/in', query: UNCHANGED }, headers: { authorization: UNCHANGED }, tls: { clientCertificatePem: 'CERT\n', clientKeyPem: UNCHANGED }, patterns: e.patterns } } },
      state([e]),
    );
    expect(kept.problems).toEqual([]);
    // The header name's case is part of the setting: the value is kept, the name changes.
    expect(actions(kept)).toEqual(['ENDPOINT:hooks:UPDATE:headers.Authorization,headers.authorization']);
    expect((kept.changes[0] as EndpointChange).input.headers).toEqual([{ name: 'authorization', value: 'Bearer s' }]);
    const set = plan({ endpoints: { hooks: { url: { base: 'https://h.example.com/in', query: 'token=new' }, patterns: e.patterns } } }, state([e]));
    expect((set.changes[0] as EndpointChange).input.url).toBe('https://h.example.com/in?token=new');
    const cleared = plan({ endpoints: { hooks: { url: { base: 'https://h.example.com/in' }, patterns: e.patterns } } }, state([e]));
    expect((cleared.changes[0] as EndpointChange).input.url).toBe('https://h.example.com/in');
    const bad = plan({ endpoints: { hooks: { url: { base: 'https://h/?a=1', query: 'b' } }, other: { url: { base: 'https://h/', query: UNCHANGED }, headers: { A: UNCHANGED } } } }, state([e]));
    expect(bad.fields).toEqual(['endpoints.hooks.url.base', 'endpoints.other.headers.A', 'endpoints.other.url.query']);
  });

  it('reports shape problems of every setting and keeps reading the others', () => {
    const p = plan(
      {
        endpoints: {
          a: {
            url: 5,
            description: 1,
            labels: 'x',
            timeoutMs: '1',
            retryPolicy: { maxAttempts: true, nope: 1 },
            circuitBreaker: { enabled: 'yes' },
            maxInFlight: null,
            rateLimitPerSecond: 'none',
            orderingMode: 'RANDOM',
            headers: { A: 1 },
            tls: 'x',
            signingAlgorithm: 'RSA',
            patterns: [1],
            colour: 'red',
          },
        },
      },
      state(),
    );
    expect(p.fields).toEqual(
      [
        'url',
        'description',
        'labels',
        'timeoutMs',
        'retryPolicy.maxAttempts',
        'retryPolicy.nope',
        'circuitBreaker.enabled',
        'maxInFlight',
        'rateLimitPerSecond',
        'orderingMode',
        'headers.A',
        'tls',
        'signingAlgorithm',
        'patterns[0]',
        'colour',
      ]
        .map((f) => `endpoints.a.${f}`)
        .sort(),
    );
    expect(p.changes).toEqual([]);
  });
});

describe('planConfiguration: event types', () => {
  it('creates, updates, keeps; refuses built-ins; prune deprecates; the catalog follows', () => {
    const same = eventType({ name: 'acme.same.one', uid: 'same', description: 'd', category: 'acme' });
    const changed = eventType({ name: 'acme.changed.one', schema: { type: 'object' } });
    const left = eventType({ name: 'acme.left.out' });
    const old = eventType({ name: 'acme.old.one', deprecated: true });
    const doc = {
      eventTypes: {
        'acme.same.one': { uid: 'same', description: ' d ' },
        'acme.changed.one': { schema: null, deprecated: true, category: 'other' },
        'acme.new.one': { description: 'new' },
        'pipeline.run.failed': {},
      },
    };
    const p = plan(doc, state([], [same, changed, left, old]));
    expect(p.fields).toEqual(['eventTypes["pipeline.run.failed"]']);
    expect(actions(p)).toEqual(['EVENT_TYPE:acme.same.one:UNCHANGED:', 'EVENT_TYPE:acme.changed.one:UPDATE:category,schema,deprecated', 'EVENT_TYPE:acme.new.one:CREATE:description']);
    expect(p.unmanaged).toEqual([{ kind: 'EVENT_TYPE', key: 'acme.left.out' }]);
    expect(p.catalog.sort()).toEqual([...BUILT_INS, 'acme.left.out', 'acme.new.one', 'acme.same.one'].sort());
    const { 'pipeline.run.failed': _drop, ...valid } = doc.eventTypes;
    const pruned = plan({ eventTypes: valid }, state([], [same, changed, left, old]), true);
    expect(actions(pruned).at(-1)).toBe('EVENT_TYPE:acme.left.out:DELETE:deprecated');
    expect(pruned.catalog).not.toContain('acme.left.out');
    const restored = plan({ eventTypes: { 'acme.old.one': {} } }, state([], [old]));
    expect(actions(restored)).toEqual(['EVENT_TYPE:acme.old.one:UPDATE:deprecated']);
    expect(restored.catalog).toContain('acme.old.one');
    expect(plan({ eventTypes: { 'acme.x.y': { uid: 1, schema: [], deprecated: 'no', bad: 1 } } }, state()).fields).toEqual(
      ['eventTypes["acme.x.y"].bad', 'eventTypes["acme.x.y"].deprecated', 'eventTypes["acme.x.y"].schema', 'eventTypes["acme.x.y"].uid'].sort(),
    );
  });
});

describe('export → plan', () => {
  const header = fc.record({ name: fc.constantFrom('Authorization', 'X-Team', 'x-env', 'X-A'), value: fc.string({ maxLength: 20 }) });
  const arbEndpoint: fc.Arbitrary<CurrentEndpoint> = fc.record({
    id: fc.constant('').map(() => id('endpoint')),
    uid: fc.option(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), { nil: null }),
    patterns: fc.uniqueArray(fc.constantFrom('pipeline.run.failed', 'security.*', '*'), { maxLength: 3 }),
    settings: fc.record({
      url: fc.constantFrom('https://a.example.com/', 'https://b.example.com/x?token=1', 'http://127.0.0.1:9/p?'),
      description: fc.string({ maxLength: 10 }),
      labels: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 3 }),
      timeoutMs: fc.integer({ min: 1000, max: 30000 }),
      retryPolicy: fc.record({ initialBackoffSeconds: fc.integer({ min: 1, max: 10 }), multiplier: fc.double({ min: 1, max: 10, noNaN: true }), maxBackoffSeconds: fc.integer({ min: 10, max: 100 }), maxAttempts: fc.integer({ min: 1, max: 50 }) }),
      circuitBreaker: fc.record({ enabled: fc.boolean(), failureThreshold: fc.integer({ min: 1, max: 100 }), cooldownSeconds: fc.integer({ min: 1, max: 100 }) }),
      maxInFlight: fc.integer({ min: 1, max: 1000 }),
      rateLimitPerSecond: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: null }),
      orderingMode: fc.constantFrom('BEST_EFFORT' as const, 'STRICT' as const),
      headers: fc.uniqueArray(header, { selector: (h) => h.name.toLowerCase(), maxLength: 3 }),
      tls: fc.option(
        fc.record({ clientCertificatePem: fc.option(fc.constant('CERT\n'), { nil: null }), clientKeyPem: fc.option(fc.constant('KEY\n'), { nil: null }), caCertificatePem: fc.option(fc.constant('CA\n'), { nil: null }) }),
        { nil: null },
      ),
      signingAlgorithm: fc.constantFrom('HMAC_SHA256' as const, 'ED25519' as const),
    }),
  });
  const arbType: fc.Arbitrary<CurrentEventType> = fc.record({
    id: fc.constant('').map(() => id('eventType')),
    name: fc.stringMatching(/^acme\.[a-z]{1,6}\.[a-z]{1,6}$/),
    uid: fc.option(fc.stringMatching(/^[a-z]{1,8}$/), { nil: null }),
    category: fc.constantFrom('acme', 'billing'),
    description: fc.constantFrom('', 'Something happened.'),
    schema: fc.option(fc.constant({ type: 'object' }), { nil: null }),
    deprecated: fc.boolean(),
  });

  it('every setting of every endpoint and type exports to a document that plans as UNCHANGED, with no secret in it', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(arbEndpoint, { selector: (e) => e.uid ?? e.id, maxLength: 4 }),
        fc.uniqueArray(arbType, { selector: (t) => t.name, maxLength: 3 }),
        fc.boolean(),
        (endpoints, types, prune) => {
          const current = state(endpoints, types);
          const exported = JSON.parse(JSON.stringify(exportDocument(current)));
          const p = plan(exported, current, prune);
          expect(p.problems).toEqual([]);
          expect(p.changes.every((c) => c.action === 'UNCHANGED')).toBe(true);
          expect(p.unmanaged).toEqual([]);
          const text = JSON.stringify(exported);
          expect(text).not.toContain('KEY\\n');
          expect(text).not.toContain('token=');
          for (const e of endpoints) for (const h of e.settings.headers) if (h.value.length > 3) expect(Object.values(exported.endpoints[e.uid ?? e.id].headers)).not.toContain(h.value);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('exports every endpoint setting in table order, and event types without their defaults', () => {
    const e = endpoint();
    expect(Object.keys((exportDocument(state([e])).endpoints as Record<string, object>).hooks!)).toEqual([...ENDPOINT_FIELD_NAMES]);
    expect(exportEventType(eventType())).toEqual({});
    expect(Object.keys(exportEventType(eventType({ uid: 'u', category: 'x', description: 'd', schema: {}, deprecated: true })))).toEqual([...EVENT_TYPE_FIELD_NAMES]);
  });
});

describe('settleEndpointUpdate', () => {
  it('drops settings equal once normalised, keeps the others and any rotation', () => {
    const e = endpoint({ url: 'https://hooks.example.com/in', description: 'x' });
    const change = plan({ endpoints: { hooks: { url: 'https://HOOKS.example.com/in', description: ' y', patterns: e.patterns } } }, state([e])).changes[0] as EndpointChange;
    expect(change.changedFields).toEqual(['url', 'description']);
    const settled = settleEndpointUpdate(change, { url: 'https://hooks.example.com/in', description: 'y' });
    expect(settled).toMatchObject({ action: 'UPDATE', changedFields: ['description'], input: { description: ' y' } });
    expect(settleEndpointUpdate(change, { url: 'https://hooks.example.com/in', description: 'x' }).action).toBe('UNCHANGED');
    const rotation = { ...change, changedFields: [...change.changedFields, 'signingAlgorithm'], rotateTo: 'ED25519' as const };
    expect(settleEndpointUpdate(rotation, { url: 'https://hooks.example.com/in', description: 'x' })).toMatchObject({ action: 'UPDATE', changedFields: ['signingAlgorithm'] });
    const created = { ...change, action: 'CREATE' as const };
    expect(settleEndpointUpdate(created, {})).toBe(created);
  });
});

describe('helpers', () => {
  it('paths: identifiers dotted, anything else quoted', () => {
    expect(pathOf('endpoints', 'billing')).toBe('endpoints.billing');
    expect(pathOf('endpoints', 'billing-alerts')).toBe('endpoints["billing-alerts"]');
    expect(objectPath('EVENT_TYPE', 'a.b.c')).toBe('eventTypes["a.b.c"]');
    expect(withinObject('ENDPOINT', 'a-b', [{ field: 'url', message: 'url is bad.' }, { field: '', message: 'x' }])).toEqual([
      { field: 'endpoints["a-b"].url', message: 'endpoints["a-b"]: url is bad.' },
      { field: 'endpoints["a-b"]', message: 'endpoints["a-b"]: x' },
    ]);
  });

  it('secret values: strings, the unchanged reference, and nothing else', () => {
    const problems: InputProblem[] = [];
    expect(readSecretValue('v', 'at', problems)).toBe('v');
    expect(readSecretValue({ unchanged: true }, 'at', problems)).toEqual(UNCHANGED);
    expect(problems).toEqual([]);
    for (const bad of [1, null, { unchanged: false }, { unchanged: true, extra: 1 }, []]) expect(readSecretValue(bad, 'at', problems)).toBeUndefined();
    expect(problems).toHaveLength(5);
    expect(isUnchanged({ unchanged: true })).toBe(true);
    const resolved: InputProblem[] = [];
    expect(resolveSecret('x', null, 'at', resolved)).toBe('x');
    expect(resolveSecret(UNCHANGED, 'now', 'at', resolved)).toBe('now');
    expect(resolveSecret(UNCHANGED, null, 'at', resolved)).toBeUndefined();
    expect(resolved.map((p) => p.field)).toEqual(['at']);
  });

  it('readObject reports unknown keys and keeps the known ones; sameJson ignores key order', () => {
    const problems: InputProblem[] = [];
    expect(readObject({ a: 1, b: 2 }, ['a'], { at: 'x', problems })).toEqual({ a: 1 });
    expect(problems.map((p) => p.field)).toEqual(['x.b']);
    expect(sameJson({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
  });

  it('every endpoint setting has one table entry, found by its changed-part names', () => {
    expect(new Set(ENDPOINT_FIELD_NAMES).size).toBe(ENDPOINT_FIELDS.length);
    expect(endpointFieldOf('retryPolicy.maxAttempts')?.name).toBe('retryPolicy');
    expect(endpointFieldOf('headers["X-A"]')?.name).toBe('headers');
    expect(endpointFieldOf('tls')?.name).toBe('tls');
    expect(endpointFieldOf('nope')).toBeUndefined();
  });
});
