/**
 * The committed schema.graphql must be the printed schema, and the names SPEC §7 calls a stable
 * contract must exist with the kinds integrations rely on.
 */
import { readFileSync } from 'node:fs';
import {
  buildSchema as buildSdl,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isObjectType,
  isScalarType,
  parse,
  validate,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { printSchemaSdl } from '../../server/graphql/schema.js';

let printed: string;
let schema: GraphQLSchema;

beforeAll(() => {
  printed = printSchemaSdl();
  schema = buildSdl(printed);
});

function type(name: string): GraphQLNamedType {
  const found = schema.getType(name);
  if (!found) throw new Error(`type ${name} is missing from the schema`);
  return found;
}

function fieldsOf(name: string): string[] {
  const t = type(name);
  if (!isObjectType(t) && !isInputObjectType(t)) throw new Error(`${name} has no fields`);
  return Object.keys(t.getFields());
}

describe('schema.graphql', () => {
  it('is the printed schema (regenerate with `npx tsx server/graphql/printSchema.ts`)', () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    // A plain equality check would print both 600-line files; point at the first difference instead.
    if (committed !== printed) {
      const a = committed.split('\n');
      const b = printed.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      expect.fail(
        `schema.graphql is stale (first difference at line ${line + 1}: committed ${JSON.stringify(a[line])}, printed ${JSON.stringify(b[line])}). ` +
          'Run `npx tsx server/graphql/printSchema.ts` and commit the result.',
      );
    }
  });
});

describe('SPEC §7 contract', () => {
  it('has the scalars DateTime and JSON', () => {
    expect(isScalarType(type('DateTime'))).toBe(true);
    expect(isScalarType(type('JSON'))).toBe(true);
  });

  it.each(['CreateEndpointInput', 'UpdateEndpointInput', 'PublishEventInput', 'DeliveryFilter'])('has the input %s', (name) => {
    expect(isInputObjectType(type(name))).toBe(true);
  });

  it.each([
    ['DeliveryStatus', ['PENDING', 'SUCCEEDED', 'DEAD', 'CANCELLED']],
    ['AttemptTrigger', ['SCHEDULED', 'MANUAL', 'TEST']],
    ['SigningAlgorithm', ['HMAC_SHA256', 'ED25519']],
    ['CircuitState', ['CLOSED', 'OPEN', 'HALF_OPEN']],
    ['OrderingMode', ['BEST_EFFORT', 'STRICT']],
    ['ApiKeyRole', ['ADMIN', 'OPERATOR', 'PUBLISHER', 'VIEWER']],
  ])('has the enum %s with its values', (name, values) => {
    const t = type(name);
    expect(isEnumType(t)).toBe(true);
    if (isEnumType(t)) expect(t.getValues().map((v) => v.name).sort()).toEqual([...values].sort());
  });

  it('has every query and mutation SPEC §7 names', () => {
    const queries = Object.keys(schema.getQueryType()!.getFields());
    expect(queries).toEqual(
      expect.arrayContaining([
        'viewer', 'endpoints', 'endpoint', 'eventTypes', 'events', 'event', 'deliveries', 'delivery', 'deliveryStats', 'apiKeys', 'signingKeys',
      ]),
    );
    const mutations = Object.keys(schema.getMutationType()!.getFields());
    expect(mutations).toEqual(
      expect.arrayContaining([
        'createEndpoint', 'updateEndpoint', 'deleteEndpoint', 'pauseEndpoint', 'resumeEndpoint', 'setEventSubscriptions',
        'createEventType', 'deprecateEventType', 'rotateSigningKey', 'revokeSigningKey', 'sendTestEvent', 'publishEvent',
        'publishEvents', 'retryDelivery', 'replayDeliveries', 'createApiKey', 'revokeApiKey',
      ]),
    );
  });

  it('has the GraphQL subscriptions deliveryAttempts and endpointHealth', () => {
    const subscriptions = Object.keys(schema.getSubscriptionType()?.getFields() ?? {});
    expect(subscriptions).toEqual(expect.arrayContaining(['deliveryAttempts', 'endpointHealth']));
  });

  it('has the core Endpoint fields, with retryPolicy and circuitBreaker as objects', () => {
    expect(fieldsOf('Endpoint')).toEqual(
      expect.arrayContaining([
        'id', 'url', 'description', 'labels', 'active', 'disabledReason', 'circuitState', 'timeoutMs', 'retryPolicy', 'circuitBreaker',
        'maxInFlight', 'rateLimitPerSecond', 'orderingMode', 'headers', 'eventSubscriptions', 'createdAt',
      ]),
    );
    const endpoint = type('Endpoint');
    if (!isObjectType(endpoint)) throw new Error('Endpoint is not an object type');
    const fields = endpoint.getFields();
    expect(getNamedType(fields.circuitState!.type).name).toBe('CircuitState');
    expect(getNamedType(fields.orderingMode!.type).name).toBe('OrderingMode');
    expect(getNamedType(fields.createdAt!.type).name).toBe('DateTime');
    expect(getNamedType(fields.id!.type).name).toBe('ID');
    expect(isObjectType(getNamedType(fields.retryPolicy!.type))).toBe(true);
    expect(isObjectType(getNamedType(fields.circuitBreaker!.type))).toBe(true);
    expect(fieldsOf('EventSubscription')).toContain('pattern');
    expect(fieldsOf('CreateEndpointPayload')).toEqual(expect.arrayContaining(['endpoint', 'secret']));
  });

  it('carries the same settings in CreateEndpointInput and UpdateEndpointInput, mTLS under tls', () => {
    const settings = ['url', 'description', 'labels', 'timeoutMs', 'retryPolicy', 'circuitBreaker', 'maxInFlight', 'rateLimitPerSecond', 'orderingMode', 'headers', 'tls'];
    expect(fieldsOf('CreateEndpointInput')).toEqual(expect.arrayContaining(settings));
    expect(fieldsOf('UpdateEndpointInput')).toEqual(expect.arrayContaining(settings));
    for (const input of ['CreateEndpointInput', 'UpdateEndpointInput']) {
      const t = type(input);
      if (!isInputObjectType(t)) throw new Error(`${input} is not an input`);
      expect(fieldsOf(getNamedType(t.getFields().tls!.type).name).sort()).toEqual(['caCertificatePem', 'clientCertificatePem', 'clientKeyPem']);
    }
  });

  it('has the core SigningKey fields and the rotate payload', () => {
    expect(fieldsOf('SigningKey')).toEqual(expect.arrayContaining(['id', 'algorithm', 'publicKey', 'createdAt', 'expiresAt', 'revokedAt']));
    expect(fieldsOf('RotateSigningKeyPayload')).toEqual(expect.arrayContaining(['signingKey', 'secret']));
    const rotate = schema.getMutationType()!.getFields().rotateSigningKey!;
    expect(rotate.args.map((a) => a.name)).toEqual(['algorithm', 'endpointId', 'gracePeriodSeconds']);
    expect(rotate.args.find((a) => a.name === 'gracePeriodSeconds')!.defaultValue).toBe(86400);
  });

  it('has the core Event, Delivery and DeliveryAttempt fields', () => {
    expect(fieldsOf('Event')).toEqual(expect.arrayContaining(['id', 'type', 'data', 'orderingKey', 'createdAt', 'deliveries']));
    expect(fieldsOf('Delivery')).toEqual(
      expect.arrayContaining(['id', 'status', 'event', 'endpoint', 'attemptCount', 'nextAttemptAt', 'lastAttempt', 'attempts']),
    );
    expect(fieldsOf('DeliveryAttempt')).toEqual(
      expect.arrayContaining([
        'id', 'delivery', 'endpoint', 'attemptNumber', 'trigger', 'startedAt', 'durationMs', 'succeeded', 'responseStatus',
        'responseHeaders', 'responseBody', 'errorClass', 'errorMessage',
      ]),
    );
    const publishEvents = schema.getMutationType()!.getFields().publishEvents!;
    expect(publishEvents.args.map((a) => `${a.name}: ${a.type}`)).toEqual(['inputs: [PublishEventInput!]!']);
    expect(fieldsOf('PublishEventPayload')).toEqual(expect.arrayContaining(['event', 'duplicate', 'deliveryCount']));
  });

  it('makes lists Relay connections with String cursors', () => {
    for (const query of ['endpoints', 'eventTypes', 'events', 'deliveries', 'apiKeys']) {
      const field = schema.getQueryType()!.getFields()[query]!;
      expect(field.args.map((a) => a.name), query).toEqual(expect.arrayContaining(['first', 'after']));
      const connection = getNamedType(field.type).name;
      expect(fieldsOf(connection), query).toEqual(expect.arrayContaining(['edges', 'pageInfo']));
      const edge = type(connection);
      if (!isObjectType(edge)) throw new Error(connection);
      const edgeType = getNamedType(edge.getFields().edges!.type).name;
      expect(fieldsOf(edgeType)).toEqual(expect.arrayContaining(['node', 'cursor']));
      const cursor = (type(edgeType) as { getFields(): Record<string, { type: unknown }> }).getFields().cursor!;
      expect(String(cursor.type)).toBe('String!');
    }
    expect(fieldsOf('PageInfo')).toEqual(expect.arrayContaining(['hasNextPage', 'endCursor']));
  });
});

describe('docs/configuration.md', () => {
  it('has GraphQL examples that validate against the schema', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const blocks = [...doc.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    for (const block of blocks) {
      const errors = validate(schema, parse(block)).map((e) => e.message);
      expect(errors, block).toEqual([]);
    }
  });
});
