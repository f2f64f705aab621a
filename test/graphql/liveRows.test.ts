/**
 * Live messages resolve what their notification carried without a query, and load the rest
 * once: LiveRow, the attempt summary the worker sends, LiveAttempt built from it, and what a
 * subscription's selection tells the pubsub to load as each batch arrives.
 */
import { describe, expect, it } from 'vitest';
import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type OperationDefinitionNode } from 'graphql';
import { selectedPaths } from '../../server/graphql/selection.js';
import { ATTEMPTS_SUBSCRIPTION } from '../../client/features/live/queries.js';
import { LiveRow, once, rowField } from '../../server/graphql/liveRows.js';
import { attemptStreamNeeds, CARRIED_ATTEMPT_FIELDS, CARRIED_DELIVERY_FIELDS, LiveAttempt, type BatchRows } from '../../server/graphql/liveTopics.js';
import { summarizeAttempt, SUMMARY_ERROR_MESSAGE_CHARS } from '../../server/db/notifications.js';
import type { AttemptRecord } from '../../server/db/repos/attempts.js';
import type { AttemptRow, DeliveryRow } from '../../server/db/schema.js';
import { DomainError } from '../../server/domain/errors.js';

interface Row {
  id: string;
  name: string;
  note: string | null;
  size: number;
}

function counted<T>(value: T) {
  const calls = { n: 0 };
  return { calls, load: async () => (calls.n++, value) };
}

describe('LiveRow', () => {
  it('answers carried fields, null included, without loading', async () => {
    const { calls, load } = counted<Row | null>({ id: 'r1', name: 'stored', note: 'stored', size: 9 });
    const row = new LiveRow<Row>({ id: 'r1', name: 'carried', note: null }, load, 'row');
    expect(row.field('name')).toBe('carried');
    expect(row.field('note')).toBeNull();
    expect(row.id).toBe('r1');
    expect(calls.n).toBe(0);
    await expect(row.field('size')).resolves.toBe(9);
    expect(calls.n).toBe(1);
  });

  it('fails with NOT_FOUND when the stored row is gone', async () => {
    const row = new LiveRow<Row>({ id: 'r2' }, async () => null, 'delivery');
    const failure = (await Promise.resolve(row.field('size')).catch((e: unknown) => e)) as DomainError;
    expect(failure).toBeInstanceOf(DomainError);
    expect(failure.code).toBe('NOT_FOUND');
    expect(failure.message).toBe('The delivery "r2" is no longer stored.');
  });

  it('reads stored rows directly through rowField', () => {
    const stored: Row = { id: 'r3', name: 'n', note: null, size: 1 };
    expect(rowField(stored, 'size')).toBe(1);
  });

  it('once() shares one load between every caller', async () => {
    const { calls, load } = counted(42);
    const shared = once(load);
    expect(await Promise.all([shared(), shared(), shared()])).toEqual([42, 42, 42]);
    expect(calls.n).toBe(1);
  });
});

const attempt: AttemptRecord = {
  id: 'att_1',
  orgId: 'org_1',
  deliveryId: 'del_1',
  endpointId: 'ep_1',
  eventType: 'pipeline.run.failed',
  attemptNumber: 2,
  trigger: 'SCHEDULED',
  startedAt: new Date('2026-11-27T10:00:00.123Z'),
  durationMs: 17,
  succeeded: false,
  requestHeaders: { 'webhook-id': 'evt_1' },
  responseStatus: null,
  responseHeaders: null,
  responseBody: null,
  errorClass: 'TIMEOUT',
  errorMessage: 'https://example.test/hook timed out: headers not received within 1000 ms',
  requestBody: null,
};

describe('attempt summaries', () => {
  it('carry what the live table shows, and never the request or the response', () => {
    const summary = summarizeAttempt(attempt, { eventId: 'evt_1', status: 'PENDING' }, 5);
    expect(summary).toEqual({
      id: 'att_1',
      orgId: 'org_1',
      deliveryId: 'del_1',
      endpointId: 'ep_1',
      eventId: 'evt_1',
      eventType: 'pipeline.run.failed',
      attemptNumber: 2,
      trigger: 'SCHEDULED',
      startedAt: '2026-11-27T10:00:00.123Z',
      durationMs: 17,
      succeeded: false,
      responseStatus: null,
      errorClass: 'TIMEOUT',
      errorMessage: attempt.errorMessage,
      deliveryStatus: 'PENDING',
      recordedAtMs: 5,
    });
  });

  it('leave out error messages over the limit, and live streams then load them', async () => {
    const long = { ...attempt, errorMessage: 'x'.repeat(SUMMARY_ERROR_MESSAGE_CHARS + 1) };
    const summary = summarizeAttempt(long, { eventId: 'evt_1', status: 'DEAD' });
    expect('errorMessage' in summary).toBe(false);
    expect(summarizeAttempt({ ...attempt, errorMessage: 'x'.repeat(SUMMARY_ERROR_MESSAGE_CHARS) }, { eventId: 'e', status: 'DEAD' }).errorMessage).toHaveLength(
      SUMMARY_ERROR_MESSAGE_CHARS,
    );

    const loads = { attempts: 0, endpoints: 0 };
    const storedAttempt = { ...long, responseBody: null } as AttemptRow;
    const storedDelivery = { id: 'del_1', orgId: 'org_1', attemptCount: 2 } as DeliveryRow;
    const rows: BatchRows = {
      attempts: async () => (loads.attempts++, new Map([['att_1', { attempt: storedAttempt, delivery: storedDelivery }]])),
      endpoints: async () => (loads.endpoints++, new Map()),
    };
    const live = new LiveAttempt(summary, rows);
    expect(live.field('durationMs')).toBe(17);
    expect(live.field('startedAt')).toEqual(attempt.startedAt);
    expect(live.delivery.field('status')).toBe('DEAD');
    expect(live.delivery.field('eventId')).toBe('evt_1');
    expect(loads).toEqual({ attempts: 0, endpoints: 0 });
    await expect(live.field('errorMessage')).resolves.toBe(long.errorMessage);
    await expect(live.delivery.field('attemptCount')).resolves.toBe(2);
    // Another organization's row (a forged notification) is treated as missing.
    const forged = new LiveAttempt({ ...summary, orgId: 'org_2' }, rows);
    await expect(Promise.resolve(forged.field('errorMessage'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(forged.endpoint()).resolves.toBeNull();
  });
});

describe('what a live subscription will read', () => {
  const pathsOf = (document: string): Set<string> => {
    const doc = parse(document);
    const operation = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    const fragments = Object.fromEntries(
      doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
    );
    const field = operation.selectionSet.selections[0] as FieldNode;
    return selectedPaths({ fieldNodes: [field], fragments } as unknown as GraphQLResolveInfo);
  };

  it('lists the selected paths two levels deep, fragments expanded', () => {
    const paths = pathsOf(`subscription {
      deliveryAttempts { id ...Row ... on DeliveryAttempt { succeeded } delivery { status event { data } } }
    }
    fragment Row on DeliveryAttempt { endpoint { url } }`);
    expect([...paths].sort()).toEqual(['delivery', 'delivery.event', 'delivery.status', 'endpoint', 'endpoint.url', 'id', 'succeeded']);
  });

  it.each([
    ['the summary alone', '{ id attemptNumber trigger startedAt durationMs succeeded responseStatus errorClass errorMessage eventType __typename delivery { id status eventType } }', []],
    ["the console's live table", ATTEMPTS_SUBSCRIPTION, ['endpoints']],
    ['the response', '{ id responseBody }', ['attempts']],
    ["the delivery's own fields", '{ id delivery { attemptCount } }', ['attempts']],
    ["the delivery's endpoint", '{ delivery { endpoint { id } } }', ['endpoints']],
    ["the delivery's event (loaded per message, by id)", '{ delivery { event { id } } }', []],
  ])('%s', (_what, selection, needs) => {
    const document = selection.startsWith('{') ? `subscription { deliveryAttempts ${selection} }` : selection;
    expect([...attemptStreamNeeds(pathsOf(document))].sort()).toEqual(needs);
  });

  it('every carried attempt field answers without loading', () => {
    const live = new LiveAttempt(summarizeAttempt(attempt, { eventId: 'evt_1', status: 'PENDING' }), {
      attempts: () => Promise.reject(new Error('no load expected')),
      endpoints: () => Promise.reject(new Error('no load expected')),
    });
    for (const field of CARRIED_ATTEMPT_FIELDS) {
      if (field === '__typename' || field === 'delivery' || field === 'endpoint') continue;
      expect(live.field(field as keyof AttemptRow)).not.toBeInstanceOf(Promise);
    }
    for (const field of CARRIED_DELIVERY_FIELDS) {
      if (['__typename', 'event', 'endpoint', 'attempts'].includes(field)) continue;
      expect(live.delivery.field(field as keyof DeliveryRow)).not.toBeInstanceOf(Promise);
    }
  });
});
