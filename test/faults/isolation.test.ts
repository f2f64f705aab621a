/**
 * Isolation matrix (fast): EVERY query, mutation and subscription of the schema (the list is
 * derived from the schema, so a new field without a matrix entry fails here), called with each
 * role (admin, operator, publisher, viewer) on its own organization's objects and on another
 * organization's ids. Rights must be exactly SPEC §2's (FORBIDDEN otherwise, with nothing
 * written); another org's ids answer NOT_FOUND (or nothing) and never change its rows; no
 * response and no live stream crosses an org; viewers never see a secret, a header value or a
 * payload. Responses select every field the schema offers (two levels deep), so a new field
 * that leaks is caught too.
 */
import { randomBytes } from 'node:crypto';
import {
  getNamedType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../../server/graphql/schema.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { getTestCertificates } from '../helpers/certs.js';
import { createEndpoint, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';
import type { GraphQLClient, GraphQLResponse } from '../helpers/graphql.js';
import { liveSubscribe, wsClient, type LiveSubscription } from '../helpers/live.js';
import { changedTables, recordFigures, snapshotTables } from './support.js';

type Role = 'admin' | 'operator' | 'publisher' | 'viewer';
const ROLES: Role[] = ['admin', 'operator', 'publisher', 'viewer'];
const READERS: Role[] = ['admin', 'operator', 'viewer'];
const OPERATORS: Role[] = ['admin', 'operator'];
const PUBLISHERS: Role[] = ['admin', 'publisher'];
const ADMIN: Role[] = ['admin'];
/** Platform operations: no organization key, whatever its role (the platform credential only). */
const NO_ORGANIZATION_KEY: Role[] = [];

interface OrgWorld {
  orgId: string;
  keys: Record<Role, string>;
  clients: Record<Role, GraphQLClient>;
  /** Receives events (200), carries a custom header with a secret value. */
  main: string;
  /** Holds an mTLS client key; subscribed to nothing. */
  tls: string;
  /** Subscribed to nothing: paused, resumed, updated at will. */
  idle: string;
  ed25519: string;
  hmacKeyId: string;
  eventTypeId: string;
  eventId: string;
  deadDeliveryId: string;
  viewerKeyId: string;
  headerSecret: string;
  payloadMarker: string;
  secrets: string[];
}

interface Op {
  query: string;
  variables?: Record<string, unknown>;
}

interface Entry {
  allowed: Role[];
  /** The operation on the caller's own objects (may create fresh ones with the admin key). */
  own(role: Role): Promise<Op>;
  /** The operation aimed at the other org's ids; absent when the field takes none. */
  foreign?(role: Role): Promise<Op>;
  /** What an allowed role gets for the foreign call: NOT_FOUND, or an answer without the other org's ids. */
  foreignAnswer?: 'NOT_FOUND' | 'NOTHING';
}

let service: TestService;
let receiver: Receiver;
let A: OrgWorld;
let B: OrgWorld;
const figures = { operations: 0, calls: 0, forbidden: 0, notFound: 0, emptyForeign: 0, liveMessages: 0, secretsScanned: 0 };
const sockets: Client[] = [];

// ---------------------------------------------------------------- selections from the schema

const schema = buildSchema();

/** Every field of `type` without required arguments, nested objects down to `depth` levels. */
function selectionOf(type: GraphQLOutputType, depth: number): string {
  const named = getNamedType(type);
  if (isScalarType(named) || isEnumType(named)) return '';
  if (!isObjectType(named)) return '{ __typename }';
  const fields = Object.values((named as GraphQLObjectType).getFields()).filter((f: GraphQLField<unknown, unknown>) =>
    f.args.every((a) => !isNonNullType(a.type) || a.defaultValue !== undefined),
  );
  const parts: string[] = [];
  for (const f of fields) {
    const inner = getNamedType(f.type);
    if (isScalarType(inner) || isEnumType(inner)) parts.push(f.name);
    else if (depth > 0) parts.push(`${f.name} ${selectionOf(f.type, isListType(unwrap(f.type)) ? depth - 1 : depth - 1)}`);
  }
  return parts.length ? `{ ${parts.join(' ')} }` : '{ __typename }';
}
function unwrap(type: GraphQLOutputType): GraphQLOutputType {
  return isNonNullType(type) ? (type.ofType as GraphQLOutputType) : type;
}
function rootField(kind: 'Query' | 'Mutation' | 'Subscription', name: string): GraphQLField<unknown, unknown> {
  const root = kind === 'Query' ? schema.getQueryType() : kind === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  const field = root!.getFields()[name];
  if (!field) throw new Error(`${kind}.${name} is not in the schema`);
  return field;
}
/** `field(args) { every field }` as an operation of `kind`. */
function op(kind: 'Query' | 'Mutation' | 'Subscription', name: string, args: string, variables: Record<string, unknown> = {}, varDefs = ''): Op {
  const keyword = kind === 'Query' ? 'query' : kind === 'Mutation' ? 'mutation' : 'subscription';
  const selection = selectionOf(rootField(kind, name).type, 2);
  return { query: `${keyword}${varDefs ? `(${varDefs})` : ''} { ${name}${args ? `(${args})` : ''} ${selection} }`, variables };
}

// ---------------------------------------------------------------- the two organizations

const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key apiKey { id } } }`;

async function buildOrg(name: string, adminKey: string, orgId: string): Promise<OrgWorld> {
  const certs = await getTestCertificates();
  const admin = service.client(adminKey);
  const keys = { admin: adminKey } as Record<Role, string>;
  let viewerKeyId = '';
  for (const role of ['operator', 'publisher', 'viewer'] as const) {
    const created = (await admin.data(CREATE_KEY, { role: role.toUpperCase(), name: `${name} ${role}` })).createApiKey;
    keys[role] = created.key;
    if (role === 'viewer') viewerKeyId = created.apiKey.id;
  }
  const clients = Object.fromEntries(ROLES.map((r) => [r, service.client(keys[r])])) as Record<Role, GraphQLClient>;
  const headerSecret = `hdr-${name}-${randomBytes(8).toString('hex')}`;
  const payloadMarker = `payload-${name}-${randomBytes(8).toString('hex')}`;
  const main = await createEndpoint(admin, {
    url: `${receiver.url}/${name}/main`,
    patterns: ['pipeline.run.succeeded'],
    headers: [{ name: 'X-Receiver-Token', value: headerSecret }],
    description: `${name} main`,
  });
  const tls = await createEndpoint(admin, {
    url: `https://hooks.example.com/${name}/tls`,
    patterns: [],
    tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem, caCertificatePem: certs.caCertPem },
  });
  const idle = await createEndpoint(admin, { url: `${receiver.url}/${name}/idle`, patterns: [] });
  const ed = await createEndpoint(admin, { url: `${receiver.url}/${name}/ed`, patterns: [], signingAlgorithm: 'ED25519' });
  const dead = await createEndpoint(admin, {
    url: `${receiver.url}/${name}/fail`,
    patterns: ['pipeline.run.failed'],
    retryPolicy: { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 1 },
  });
  const type = (await admin.data(`mutation($n: String!) { createEventType(input: { name: $n, schema: { type: "object" } }) { id } }`, { n: `${name}.own.thing` }))
    .createEventType.id;
  const ok = await publish(admin, { type: 'pipeline.run.succeeded', data: { marker: payloadMarker } });
  const failed = await publish(admin, { type: 'pipeline.run.failed', data: { marker: payloadMarker } });
  await waitForDeliveries(service, ok.event.id, ['SUCCEEDED']);
  const [deadDelivery] = await waitForDeliveries(service, failed.event.id, ['DEAD']);
  const hmacKeyId = (await admin.data(`query($id: ID!) { signingKeys(endpointId: $id) { id } }`, { id: main.id })).signingKeys[0].id;
  return {
    orgId,
    keys,
    clients,
    main: main.id,
    tls: tls.id,
    idle: idle.id,
    ed25519: ed.id,
    hmacKeyId,
    eventTypeId: type,
    eventId: ok.event.id,
    deadDeliveryId: deadDelivery!.id,
    viewerKeyId,
    headerSecret,
    payloadMarker,
    // What must never reach a viewer (nor anyone of the other org): the HMAC secret, key material,
    // custom header values, payloads.
    secrets: [main.secret!, headerSecret, payloadMarker, certs.clientKeyPem.split('\n')[1]!],
  };
}

/** Waits until nothing is pending, so table snapshots compare only what a call wrote. */
async function quiesce(): Promise<void> {
  await waitUntil(
    'no pending delivery or queued job',
    async () => {
      const [row] = await service.database.sql<{ n: number }[]>`
        SELECT (SELECT count(*) FROM deliveries WHERE status = 'PENDING')::int
             + (SELECT count(*) FROM pgboss.job WHERE name LIKE 'deliveries\\_s%' AND state <= 'active')::int AS n`;
      return row!.n === 0;
    },
    15_000,
  );
  // Operational events (a dead delivery's webhook.delivery.exhausted) are published from a
  // buffer after the delivery's record: wait for any publish of them still running, or it lands
  // in a later step's snapshot of the organization.
  await service.engine.systemEvents.flush();
}

beforeAll(async () => {
  receiver = await startReceiver({ respond: (req) => (req.path.endsWith('/fail') ? { status: 500, body: 'no' } : { status: 200, body: 'ok' }) });
  service = await startTestService();
  A = await buildOrg('orga', service.adminKey, service.orgId);
  const other = await service.services.organizations.createOrganization({ name: 'isolation-b', plan: 'enterprise' });
  B = await buildOrg('orgb', other.apiKey, other.org.id);
  await quiesce();
}, 90_000);

afterAll(async () => {
  recordFigures('isolation', figures);
  await Promise.all(sockets.map((s) => s.dispose()));
  await service?.close();
  await receiver?.close();
});

// ---------------------------------------------------------------- the matrix

const id = (value: string) => ({ id: value });

/** A fresh endpoint of org A whose circuit is open with nothing waiting (probeEndpoint then sends a webhook.test). */
async function openCircuitInA(): Promise<string> {
  const endpoint = await createEndpoint(A.clients.admin, { url: `${receiver.url}/orga/probe-${unique()}`, patterns: [] });
  await service.database.sql`
    UPDATE endpoints SET circuit_state = 'OPEN', consecutive_failures = 10, circuit_opened_at = now(),
           circuit_open_until = now() + interval '1 hour', circuit_cooldown_seconds = 3600
    WHERE id = ${endpoint.id}`;
  return endpoint.id;
}
const unique = () => randomBytes(4).toString('hex');

const MATRIX: Record<string, Entry> = {
  // ---- queries
  viewer: { allowed: ROLES, own: async () => op('Query', 'viewer', '') },
  endpointUrlPolicy: { allowed: READERS, own: async () => op('Query', 'endpointUrlPolicy', '') },
  endpoints: { allowed: READERS, own: async () => op('Query', 'endpoints', 'first: 50'), foreign: async () => op('Query', 'endpoints', 'first: 50'), foreignAnswer: 'NOTHING' },
  endpoint: {
    allowed: READERS,
    own: async () => op('Query', 'endpoint', 'id: $id', id(A.main), '$id: ID!'),
    foreign: async () => op('Query', 'endpoint', 'id: $id', id(B.tls), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  eventTypes: { allowed: READERS, own: async () => op('Query', 'eventTypes', 'first: 100'), foreign: async () => op('Query', 'eventTypes', 'first: 100'), foreignAnswer: 'NOTHING' },
  events: {
    allowed: READERS,
    own: async () => op('Query', 'events', 'first: 20'),
    foreign: async () => op('Query', 'events', 'first: 20, filter: { type: "orgb.own.thing" }'),
    foreignAnswer: 'NOTHING',
  },
  event: {
    allowed: READERS,
    own: async () => op('Query', 'event', 'id: $id', id(A.eventId), '$id: ID!'),
    foreign: async () => op('Query', 'event', 'id: $id', id(B.eventId), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  deliveries: {
    allowed: READERS,
    own: async () => op('Query', 'deliveries', 'first: 20'),
    foreign: async () => op('Query', 'deliveries', 'first: 20, filter: { endpointId: $id }', id(B.main), '$id: ID'),
    foreignAnswer: 'NOTHING',
  },
  delivery: {
    allowed: READERS,
    own: async () => op('Query', 'delivery', 'id: $id', id(A.deadDeliveryId), '$id: ID!'),
    foreign: async () => op('Query', 'delivery', 'id: $id', id(B.deadDeliveryId), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  deliveryStats: {
    allowed: READERS,
    own: async () => op('Query', 'deliveryStats', 'endpointId: $id, since: "2020-01-01T00:00:00Z", bucketSeconds: 86400, until: "2021-01-01T00:00:00Z"', id(A.main), '$id: ID!'),
    foreign: async () =>
      op('Query', 'deliveryStats', 'endpointId: $id, since: "2020-01-01T00:00:00Z", bucketSeconds: 86400, until: "2021-01-01T00:00:00Z"', id(B.main), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  exportConfiguration: { allowed: READERS, own: async () => op('Query', 'exportConfiguration', ''), foreign: async () => op('Query', 'exportConfiguration', ''), foreignAnswer: 'NOTHING' },
  apiKeys: { allowed: ADMIN, own: async () => op('Query', 'apiKeys', 'first: 50'), foreign: async () => op('Query', 'apiKeys', 'first: 50'), foreignAnswer: 'NOTHING' },
  signingKeys: {
    allowed: READERS,
    own: async () => op('Query', 'signingKeys', 'endpointId: $id', id(A.ed25519), '$id: ID!'),
    foreign: async () => op('Query', 'signingKeys', 'endpointId: $id', id(B.ed25519), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  validateEndpointFilter: { allowed: READERS, own: async () => op('Query', 'validateEndpointFilter', 'expression: "has(data.x) && data.x == 1"') },
  // ---- mutations
  testTransformation: {
    allowed: ADMIN,
    own: async () => op('Mutation', 'testTransformation', 'code: "function handler(w) { w.data.n = 1; return w; }", type: "pipeline.run.failed", data: { a: 1 }'),
  },
  createPortalSession: { allowed: ADMIN, own: async () => op('Mutation', 'createPortalSession', 'role: VIEWER, ttlSeconds: 60, labels: ["team:none"]') },
  revokePortalSessions: { allowed: ADMIN, own: async () => op('Mutation', 'revokePortalSessions', '') },
  // The link token is the credential: whoever holds it (any role, or no key) trades it once.
  exchangePortalToken: {
    allowed: ROLES,
    own: async () => {
      const { url } = (await A.clients.admin.data(`mutation { createPortalSession(role: VIEWER, ttlSeconds: 60) { url } }`)).createPortalSession;
      return op('Mutation', 'exchangePortalToken', 'token: $token', { token: new URL(url).hash.slice('#token='.length) }, '$token: String!');
    },
  },
  createEndpoint: {
    allowed: ADMIN,
    own: async () => op('Mutation', 'createEndpoint', 'input: $input', { input: { url: `${receiver.url}/orga/new-${unique()}`, patterns: [] } }, '$input: CreateEndpointInput!'),
  },
  updateEndpoint: {
    allowed: ADMIN,
    own: async () => op('Mutation', 'updateEndpoint', 'id: $id, input: { description: "updated" }', id(A.idle), '$id: ID!'),
    foreign: async () => op('Mutation', 'updateEndpoint', 'id: $id, input: { description: "hijacked" }', id(B.idle), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  deleteEndpoint: {
    allowed: ADMIN,
    own: async () => op('Mutation', 'deleteEndpoint', 'id: $id', id((await createEndpoint(A.clients.admin, { url: `${receiver.url}/orga/del`, patterns: [] })).id), '$id: ID!'),
    foreign: async () => op('Mutation', 'deleteEndpoint', 'id: $id', id(B.idle), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  pauseEndpoint: {
    allowed: OPERATORS,
    own: async () => op('Mutation', 'pauseEndpoint', 'id: $id', id(A.idle), '$id: ID!'),
    foreign: async () => op('Mutation', 'pauseEndpoint', 'id: $id', id(B.main), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  resumeEndpoint: {
    allowed: OPERATORS,
    own: async () => op('Mutation', 'resumeEndpoint', 'id: $id', id(A.idle), '$id: ID!'),
    foreign: async () => op('Mutation', 'resumeEndpoint', 'id: $id', id(B.main), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  setEventSubscriptions: {
    allowed: ADMIN,
    own: async () => op('Mutation', 'setEventSubscriptions', 'endpointId: $id, patterns: ["governance.catalog.sync_finished"]', id(A.idle), '$id: ID!'),
    foreign: async () => op('Mutation', 'setEventSubscriptions', 'endpointId: $id, patterns: ["*"]', id(B.idle), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  createEventType: {
    allowed: ADMIN,
    own: async () => op('Mutation', 'createEventType', 'input: { name: $n }', { n: `orga.made.t${unique()}` }, '$n: String!'),
  },
  deprecateEventType: {
    allowed: ADMIN,
    own: async () => {
      const created = await A.clients.admin.data(`mutation($n: String!) { createEventType(input: { name: $n }) { id } }`, { n: `orga.old.t${unique()}` });
      return op('Mutation', 'deprecateEventType', 'id: $id', id(created.createEventType.id), '$id: ID!');
    },
    foreign: async () => op('Mutation', 'deprecateEventType', 'id: $id', id(B.eventTypeId), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  updateEventType: {
    allowed: ADMIN,
    own: async () => {
      const uid = `orga-type-${unique()}`;
      await A.clients.admin.data(`mutation($n: String!, $u: String!) { createEventType(input: { name: $n, uid: $u }) { id } }`, { n: `orga.upd.t${unique()}`, u: uid });
      return op('Mutation', 'updateEventType', 'id: $id, input: { description: "updated" }', id(uid), '$id: ID!');
    },
    foreign: async () => op('Mutation', 'updateEventType', 'id: $id, input: { description: "hijacked" }', id(B.eventTypeId), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  applyConfiguration: {
    allowed: ADMIN,
    own: async () =>
      op('Mutation', 'applyConfiguration', 'document: $d', { d: { endpoints: { [`orga-${unique()}`]: { url: `${receiver.url}/orga/applied` } } } }, '$d: JSON!'),
    // A uid the other organization uses names nothing here: the plan creates it in this one.
    foreign: async () => {
      await B.clients.admin.data(`mutation($id: ID!) { updateEndpoint(id: $id, input: { uid: "orgb-idle" }) { id } }`, id(B.idle));
      return op('Mutation', 'applyConfiguration', 'document: $d, dryRun: true', { d: { endpoints: { 'orgb-idle': { url: `${receiver.url}/orga/steal` } } } }, '$d: JSON!');
    },
    foreignAnswer: 'NOTHING',
  },
  rotateSigningKey: {
    allowed: ADMIN,
    own: async () => op('Mutation', 'rotateSigningKey', 'endpointId: $id, gracePeriodSeconds: 60', id(A.idle), '$id: ID!'),
    foreign: async () => op('Mutation', 'rotateSigningKey', 'endpointId: $id, gracePeriodSeconds: 0', id(B.main), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  revokeSigningKey: {
    allowed: ADMIN,
    own: async () => {
      // A key that may be revoked: the previous one, still in its grace period after a rotation.
      const before = (await A.clients.admin.data(`query($id: ID!) { signingKeys(endpointId: $id) { id usable } }`, id(A.idle))).signingKeys;
      await A.clients.admin.data(`mutation($id: ID!) { rotateSigningKey(endpointId: $id, gracePeriodSeconds: 600) { signingKey { id } } }`, id(A.idle));
      const previous = before.find((k: { usable: boolean }) => k.usable).id;
      return op('Mutation', 'revokeSigningKey', 'id: $id', id(previous), '$id: ID!');
    },
    foreign: async () => op('Mutation', 'revokeSigningKey', 'id: $id', id(B.hmacKeyId), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  probeEndpoint: {
    allowed: OPERATORS,
    own: async () => op('Mutation', 'probeEndpoint', 'id: $id', id(await openCircuitInA()), '$id: ID!'),
    foreign: async () => op('Mutation', 'probeEndpoint', 'id: $id', id(B.main), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  createDeliveryExport: {
    allowed: READERS,
    own: async () => op('Mutation', 'createDeliveryExport', 'format: CSV'),
    foreign: async () => op('Mutation', 'createDeliveryExport', 'format: JSON, filter: { endpointId: $id }', id(B.main), '$id: ID'),
    foreignAnswer: 'NOTHING',
  },
  sendTestEvent: {
    allowed: OPERATORS,
    own: async () => op('Mutation', 'sendTestEvent', 'endpointId: $id', id(A.idle), '$id: ID!'),
    foreign: async () => op('Mutation', 'sendTestEvent', 'endpointId: $id', id(B.main), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  publishEvent: {
    allowed: PUBLISHERS,
    own: async () => op('Mutation', 'publishEvent', 'input: { type: "pipeline.run.succeeded", data: $d }', { d: { marker: A.payloadMarker } }, '$d: JSON!'),
  },
  publishEvents: {
    allowed: PUBLISHERS,
    own: async () => op('Mutation', 'publishEvents', 'inputs: [{ type: "pipeline.run.succeeded", data: { n: 1 } }, { type: "pipeline.run.started", data: { n: 2 } }]'),
  },
  retryDelivery: {
    allowed: OPERATORS,
    own: async () => op('Mutation', 'retryDelivery', 'id: $id', id(A.deadDeliveryId), '$id: ID!'),
    foreign: async () => op('Mutation', 'retryDelivery', 'id: $id', id(B.deadDeliveryId), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  replayDeliveries: {
    allowed: OPERATORS,
    own: async () => op('Mutation', 'replayDeliveries', 'filter: { statuses: [DEAD] }'),
    // A filter on another org's endpoint matches nothing (count 0), like `deliveries(filter:)`.
    foreign: async () => op('Mutation', 'replayDeliveries', 'filter: { endpointId: $id, statuses: [DEAD] }', id(B.main), '$id: ID'),
    foreignAnswer: 'NOTHING',
  },
  createApiKey: { allowed: ADMIN, own: async () => op('Mutation', 'createApiKey', 'role: VIEWER, name: $n', { n: `k${unique()}` }, '$n: String!') },
  revokeApiKey: {
    allowed: ADMIN,
    own: async () => {
      const created = (await A.clients.admin.data(CREATE_KEY, { role: 'VIEWER', name: `to revoke ${unique()}` })).createApiKey;
      return op('Mutation', 'revokeApiKey', 'id: $id', id(created.apiKey.id), '$id: ID!');
    },
    foreign: async () => op('Mutation', 'revokeApiKey', 'id: $id', id(B.viewerKeyId), '$id: ID!'),
    foreignAnswer: 'NOT_FOUND',
  },
  // ---- platform provisioning (WEBHOOKS_PLATFORM_TOKEN only; test/integration/platform.test.ts)
  organizations: { allowed: NO_ORGANIZATION_KEY, own: async () => op('Query', 'organizations', 'first: 5') },
  createOrganization: {
    allowed: NO_ORGANIZATION_KEY,
    own: async () => op('Mutation', 'createOrganization', 'name: $n', { n: `sneaky${unique()}` }, '$n: String!'),
  },
  setOrganizationPlan: {
    allowed: NO_ORGANIZATION_KEY,
    own: async () => op('Mutation', 'setOrganizationPlan', 'id: $id, plan: starter', { id: A.orgId }, '$id: ID!'),
    foreign: async () => op('Mutation', 'setOrganizationPlan', 'id: $id, plan: starter', { id: B.orgId }, '$id: ID!'),
  },

  // ---- subscriptions (run over graphql-ws below)
  deliveryAttempts: {
    allowed: READERS,
    own: async () => op('Subscription', 'deliveryAttempts', 'endpointId: $id', id(A.idle), '$id: ID'),
    foreign: async () => op('Subscription', 'deliveryAttempts', 'endpointId: $id', id(B.idle), '$id: ID'),
    foreignAnswer: 'NOT_FOUND',
  },
  endpointHealth: {
    allowed: READERS,
    own: async () => op('Subscription', 'endpointHealth', 'endpointId: $id', id(A.idle), '$id: ID'),
    foreign: async () => op('Subscription', 'endpointHealth', 'endpointId: $id', id(B.idle), '$id: ID'),
    foreignAnswer: 'NOT_FOUND',
  },
};

function rootFieldNames(): { kind: 'Query' | 'Mutation' | 'Subscription'; name: string }[] {
  const out: { kind: 'Query' | 'Mutation' | 'Subscription'; name: string }[] = [];
  for (const kind of ['Query', 'Mutation', 'Subscription'] as const) {
    const root = kind === 'Query' ? schema.getQueryType() : kind === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    for (const name of Object.keys(root?.getFields() ?? {})) out.push({ kind, name });
  }
  return out;
}

/** No secret of `org` and no id of the other org in `text`. */
function assertClean(text: string, role: Role, what: string): void {
  figures.secretsScanned++;
  for (const s of B.secrets.concat([B.orgId, B.main, B.idle, B.tls, B.eventId, B.deadDeliveryId, B.eventTypeId, B.hmacKeyId])) {
    expect(text.includes(s), `${what} as ${role} of org A shows org B's ${s.slice(0, 24)}`).toBe(false);
  }
  if (role === 'viewer') {
    for (const s of [...A.secrets, 'PRIVATE KEY', 'whsec_', 'whk_']) expect(text.includes(s), `${what} shows a viewer ${s.slice(0, 24)}`).toBe(false);
  }
}

function codeOf(response: GraphQLResponse): string | undefined {
  return response.errors?.[0]?.extensions?.code as string | undefined;
}

// ---------------------------------------------------------------- tests

describe('the matrix covers the schema', () => {
  it('has an entry for every query, mutation and subscription (add one for a new field)', () => {
    const names = rootFieldNames().map((f) => f.name).sort();
    expect(Object.keys(MATRIX).sort()).toEqual(names);
    expect(schema.getSubscriptionType()?.getFields()).toHaveProperty('deliveryAttempts');
    expect(schema.getSubscriptionType()?.getFields()).toHaveProperty('endpointHealth');
  });
});

describe('queries and mutations: every role, own org and the other org', () => {
  const fields = rootFieldNames().filter((f) => f.kind !== 'Subscription');
  it.each(fields.map((f) => [f.kind, f.name] as const))('%s.%s', async (_kind, name) => {
    const entry = MATRIX[name]!;
    figures.operations++;
    for (const role of ROLES) {
      const allowed = entry.allowed.includes(role);
      // Own organization.
      const own = await entry.own(role);
      await quiesce();
      const beforeOwn = await snapshotTables(service.database.sql);
      const response = await A.clients[role].request(own.query, own.variables);
      figures.calls++;
      const code = codeOf(response);
      expect(response.status, `${name} as ${role}`).toBeLessThan(500);
      expect(code, `${name} as ${role}: ${JSON.stringify(response.errors)}`).not.toBe('INTERNAL_SERVER_ERROR');
      if (allowed) {
        // The field itself runs; nested fields the role may not read can still answer FORBIDDEN
        // (a publisher reading back `event.deliveries`), which is the rule working, not a failure.
        const rootCodes = (response.errors ?? []).filter((e) => (e.path?.length ?? 1) <= 1).map((e) => e.extensions?.code);
        expect(rootCodes, `${name} as ${role}: ${JSON.stringify(response.errors)}`).toEqual([]);
        for (const e of response.errors ?? []) {
          expect(e.extensions?.code, `${name} as ${role}: ${JSON.stringify(e)}`).toBe('FORBIDDEN');
        }
        // A nested FORBIDDEN under a non-null field nulls the whole answer (GraphQL null
        // propagation): only then may the root field be null.
        if (!response.errors?.length) expect(response.data?.[name], `${name} as ${role}`).toBeTruthy();
      } else {
        expect(code, `${name} as ${role} must be FORBIDDEN`).toBe('FORBIDDEN');
        figures.forbidden++;
        expect(response.data?.[name] ?? null).toBeNull();
        await quiesce();
        expect(changedTables(beforeOwn, await snapshotTables(service.database.sql)), `${name} as ${role} wrote while FORBIDDEN`).toEqual([]);
      }
      assertClean(JSON.stringify(response), role, `${name} (own)`);

      // The other organization's ids (or, for fields without ids, what comes back).
      if (!entry.foreign) continue;
      const foreign = await entry.foreign(role);
      await quiesce();
      const beforeB = await snapshotTables(service.database.sql, { orgId: B.orgId });
      const crossed = await A.clients[role].request(foreign.query, foreign.variables);
      figures.calls++;
      const crossedCode = codeOf(crossed);
      expect(crossedCode, `${name} as ${role} on org B: ${JSON.stringify(crossed.errors)}`).not.toBe('INTERNAL_SERVER_ERROR');
      if (!allowed) {
        expect(crossedCode, `${name} as ${role} on org B`).toBe('FORBIDDEN');
      } else if (entry.foreignAnswer === 'NOT_FOUND') {
        expect(crossedCode, `${name} as ${role} on org B: ${JSON.stringify(crossed)}`).toBe('NOT_FOUND');
        figures.notFound++;
      } else {
        expect(crossed.errors, `${name} as ${role} on org B`).toBeUndefined();
        figures.emptyForeign++;
      }
      // Error messages may repeat the id the caller sent; the data must hold nothing of org B.
      assertClean(JSON.stringify(crossed.data ?? null), role, `${name} data (on org B)`);
      assertClean(JSON.stringify(crossed.errors ?? []).replaceAll(String(Object.values(foreign.variables ?? {})[0] ?? '\u0000'), ''), role, `${name} errors (on org B)`);
      await quiesce();
      expect(changedTables(beforeB, await snapshotTables(service.database.sql, { orgId: B.orgId })), `${name} as ${role} changed org B`).toEqual([]);
    }
  });
});

describe('subscriptions over graphql-ws: every role, own org and the other org', () => {
  function subscribe(role: Role, world: OrgWorld, query: Op): LiveSubscription {
    const socket = wsClient(service.url, world.keys[role]);
    sockets.push(socket);
    return liveSubscribe(socket, query.query, query.variables ?? {}, (data) => data);
  }
  const errorCode = (sub: LiveSubscription): string | undefined =>
    (sub.errors[0]?.extensions?.code as string | undefined) ??
    (Array.isArray(sub.failure) ? ((sub.failure as { extensions?: { code?: string } }[])[0]?.extensions?.code as string | undefined) : undefined);

  it.each(['deliveryAttempts', 'endpointHealth'])('%s: FORBIDDEN without the right, NOT_FOUND for the other org, never a message of the other org', async (name) => {
    const entry = MATRIX[name]!;
    figures.operations++;
    const streams: { role: Role; sub: LiveSubscription }[] = [];
    for (const role of ROLES) {
      const allowed = entry.allowed.includes(role);
      const foreign = subscribe(role, A, await entry.foreign!(role));
      await foreign.ended();
      figures.calls++;
      expect(errorCode(foreign), `${name} as ${role} on org B`).toBe(allowed ? 'NOT_FOUND' : 'FORBIDDEN');
      if (allowed) figures.notFound++;
      // Unfiltered: the whole org's stream.
      const all = subscribe(role, A, op('Subscription', name, ''));
      figures.calls++;
      if (!allowed) {
        await all.ended();
        expect(errorCode(all), `${name} as ${role}`).toBe('FORBIDDEN');
        figures.forbidden++;
        continue;
      }
      streams.push({ role, sub: all });
    }
    const control = subscribe('admin', B, op('Subscription', name, ''));
    const topic = name === 'deliveryAttempts' ? 'attempts' : 'endpointHealth';
    await waitUntil('subscribers to be registered', async () => service.live!.stats().subscribers[topic]! >= streams.length + 1);

    // Activity in both orgs: org B first, then org A; A's streams get A's only, B's gets B's only.
    if (name === 'deliveryAttempts') {
      await B.clients.admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { id } }`, id(B.main));
      await A.clients.admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { id } }`, id(A.main));
    } else {
      for (const world of [B, A]) {
        await world.clients.admin.data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, id(world.idle));
        await world.clients.admin.data(`mutation($id: ID!) { resumeEndpoint(id: $id) { id } }`, id(world.idle));
      }
    }
    const expected = name === 'deliveryAttempts' ? 1 : 2;
    await control.waitFor(expected);
    for (const { role, sub } of streams) {
      await sub.waitFor(expected);
      await new Promise((r) => setTimeout(r, 200));
      expect(sub.messages, `${name} as ${role}`).toHaveLength(expected);
      expect(sub.errors, `${name} as ${role}`).toEqual([]);
      figures.liveMessages += sub.messages.length;
      assertClean(JSON.stringify(sub.messages), role, `${name} stream`);
      const endpointIds = sub.messages.map((m: any) => m[name].endpoint.id);
      expect(endpointIds.every((e: string) => [A.main, A.idle].includes(e)), `${name} as ${role}: ${endpointIds}`).toBe(true);
      sub.unsubscribe();
    }
    expect(control.messages.map((m: any) => m[name].endpoint.id).every((e: string) => [B.main, B.idle].includes(e))).toBe(true);
    control.unsubscribe();
  });
});
