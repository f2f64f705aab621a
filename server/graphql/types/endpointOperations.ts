import { builder } from '../builder.js';
import type { EndpointRow } from '../../db/schema.js';
import { pageArgs, toConnection } from '../connection.js';
import { OrderingModeEnum, SigningAlgorithmEnum } from './enums.js';
import { ENDPOINT_REF, EndpointRef } from './endpoint.js';

/**
 * The endpoint's inputs, payloads, queries and mutations (the Endpoint object type and its parts
 * are in endpoint.ts).
 */
const RetryPolicyInput = builder.inputType('RetryPolicyInput', {
  description: 'Omitted fields keep their current value (their default on creation).',
  fields: (t) => ({
    initialBackoffSeconds: t.int({ description: '1–3,600; default 5.' }),
    multiplier: t.float({ description: '1–10; default 6.' }),
    maxBackoffSeconds: t.int({ description: 'initialBackoffSeconds–86,400; default 36,000.' }),
    maxAttempts: t.int({ description: '1–50; default 8.' }),
  }),
});

const CircuitBreakerInput = builder.inputType('CircuitBreakerInput', {
  description: 'Omitted fields keep their current value (their default on creation).',
  fields: (t) => ({
    enabled: t.boolean({ description: 'Default true.' }),
    failureThreshold: t.int({ description: 'Consecutive failures that open the circuit: 1–1,000; default 10.' }),
    cooldownSeconds: t.int({ description: 'Wait before the first probe: 1–3,600; default 60 (doubles after each failed probe, up to 1 h).' }),
  }),
});

const EndpointHeaderInput = builder.inputType('EndpointHeaderInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'An HTTP token; not host, content-length, content-type, transfer-encoding, connection, user-agent or webhook-*.' }),
    value: t.string({ required: true, description: 'No line breaks.' }),
  }),
});

const EndpointTlsInput = builder.inputType('EndpointTlsInput', {
  description: 'mTLS: replaces every TLS setting of the endpoint. The client certificate and its key come together.',
  fields: (t) => ({
    clientCertificatePem: t.string(),
    clientKeyPem: t.string({ description: 'Unencrypted PEM private key of the client certificate; stored encrypted, never returned.' }),
    caCertificatePem: t.string({ description: 'PEM certificate(s) to trust for the endpoint\'s server certificate.' }),
  }),
});

const settingsFields = {
  description: 'Up to 1,000 characters.',
  labels: 'Up to 20 labels of 1–64 characters, e.g. "team:security".',
  timeoutMs: '1,000–30,000; default 15,000.',
  maxInFlight: 'Concurrent requests to the endpoint: 1–1,000; default 16.',
  rateLimitPerSecond: 'Requests per second: 1–100,000, or null for no limit (default).',
  orderingMode: 'Default BEST_EFFORT.',
  headers: 'Custom headers (up to 20); the list replaces the current one.',
  tls: 'mTLS settings; null removes them.',
  patterns: 'EventSubscription patterns (replace the current set when given).',
  filter: 'CEL content filter over type, data, orderingKey and timestamp (e.g. data.severity == "high"); the event must match a pattern and the filter. Null or blank: none. Up to 1,000 characters.',
  transformation: 'JavaScript defining function handler(webhook), run in a sandbox before signing. Null or blank: none. Up to 64 KiB.',
  uid: 'Client id: 1–64 letters, digits, "-", "_" or "." (e.g. "billing-alerts"), unique among the organization\'s endpoints, not shaped like a generated id. Accepted wherever an endpoint id is.',
  uidUpdate: 'A new client id (see CreateEndpointInput.uid); null or "" removes it.',
} as const;

const CreateEndpointInput = builder.inputType('CreateEndpointInput', {
  fields: (t) => ({
    uid: t.string({ description: settingsFields.uid }),
    url: t.string({ required: true, description: 'https:// URL (http:// only when the server allows it), at most 2,048 characters.' }),
    description: t.string({ description: settingsFields.description }),
    labels: t.stringList({ description: settingsFields.labels }),
    timeoutMs: t.int({ description: settingsFields.timeoutMs }),
    retryPolicy: t.field({ type: RetryPolicyInput }),
    circuitBreaker: t.field({ type: CircuitBreakerInput }),
    maxInFlight: t.int({ description: settingsFields.maxInFlight }),
    rateLimitPerSecond: t.int({ description: settingsFields.rateLimitPerSecond }),
    orderingMode: t.field({ type: OrderingModeEnum, description: settingsFields.orderingMode }),
    headers: t.field({ type: [EndpointHeaderInput], description: settingsFields.headers }),
    tls: t.field({ type: EndpointTlsInput, description: 'Optional mTLS settings.' }),
    signingAlgorithm: t.field({
      type: SigningAlgorithmEnum,
      description: 'HMAC_SHA256 (default): a new secret, returned once. ED25519: the organization\'s key pair (created if it has none).',
    }),
    patterns: t.stringList({ description: 'EventSubscription patterns; without any, the endpoint receives nothing.' }),
    filter: t.string({ description: settingsFields.filter }),
    transformation: t.string({ description: settingsFields.transformation }),
  }),
});

const UpdateEndpointInput = builder.inputType('UpdateEndpointInput', {
  description: 'Only the fields given change. null resets a setting to its default; use rotateSigningKey to change the signing algorithm.',
  fields: (t) => ({
    uid: t.string({ description: settingsFields.uidUpdate }),
    url: t.string(),
    description: t.string({ description: settingsFields.description }),
    labels: t.stringList({ description: settingsFields.labels }),
    timeoutMs: t.int({ description: settingsFields.timeoutMs }),
    retryPolicy: t.field({ type: RetryPolicyInput }),
    circuitBreaker: t.field({ type: CircuitBreakerInput }),
    maxInFlight: t.int({ description: settingsFields.maxInFlight }),
    rateLimitPerSecond: t.int({ description: settingsFields.rateLimitPerSecond }),
    orderingMode: t.field({ type: OrderingModeEnum, description: settingsFields.orderingMode }),
    headers: t.field({ type: [EndpointHeaderInput], description: settingsFields.headers }),
    tls: t.field({ type: EndpointTlsInput, description: settingsFields.tls }),
    patterns: t.stringList({ description: settingsFields.patterns }),
    filter: t.string({ description: settingsFields.filter }),
    transformation: t.string({ description: settingsFields.transformation }),
  }),
});

const EndpointFilter = builder.inputType('EndpointFilter', {
  fields: (t) => ({
    label: t.string({ description: 'Only endpoints carrying this label.' }),
    active: t.boolean({ description: 'Only active (true) or paused/disabled (false) endpoints.' }),
  }),
});

const CreateEndpointPayload = builder.objectRef<{ endpoint: EndpointRow; secret: string | null }>('CreateEndpointPayload').implement({
  fields: (t) => ({
    endpoint: t.field({ type: EndpointRef, resolve: (p) => p.endpoint }),
    secret: t.exposeString('secret', {
      nullable: true,
      description: 'The HMAC signing secret (whsec_...), shown only in this answer: store it now. Null for ED25519 endpoints.',
    }),
  }),
});

const DeleteEndpointPayload = builder.objectRef<{ deletedEndpointId: string }>('DeleteEndpointPayload').implement({
  fields: (t) => ({ deletedEndpointId: t.exposeID('deletedEndpointId') }),
});

const manageEnterprise = { $all: { can: 'manage', enterprise: true } } as const;
const operateEnterprise = { $all: { can: 'operate', enterprise: true } } as const;

builder.queryField('endpoints', (t) =>
  t.connection({
    type: EndpointRef,
    authScopes: { can: 'read' },
    description: 'The organization\'s endpoints, newest first.',
    args: { filter: t.arg({ type: EndpointFilter }) },
    resolve: async (_root, args, ctx) =>
      toConnection(await ctx.services.endpoints.list(ctx.requireViewer(), args.filter ?? {}, pageArgs(args))),
  }),
);

builder.queryField('endpoint', (t) =>
  t.field({
    type: EndpointRef,
    authScopes: { can: 'read' },
    args: { id: t.arg.id({ required: true, description: ENDPOINT_REF }) },
    resolve: (_root, args, ctx) => ctx.services.endpoints.get(ctx.requireViewer(), String(args.id)),
  }),
);

builder.mutationField('createEndpoint', (t) =>
  t.field({
    type: CreateEndpointPayload,
    authScopes: manageEnterprise,
    description: 'Creates an endpoint with its EventSubscriptions and first signing key. The HMAC secret is returned only here.',
    args: { input: t.arg({ type: CreateEndpointInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const created = await ctx.services.endpoints.create(ctx.requireViewer(), args.input);
      ctx.loaders.patterns.prime(created.endpoint.id, [...created.patterns].sort());
      return created;
    },
  }),
);

builder.mutationField('updateEndpoint', (t) =>
  t.field({
    type: EndpointRef,
    authScopes: manageEnterprise,
    args: { id: t.arg.id({ required: true, description: ENDPOINT_REF }), input: t.arg({ type: UpdateEndpointInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.services.endpoints.update(ctx.requireViewer(), String(args.id), args.input),
  }),
);

builder.mutationField('deleteEndpoint', (t) =>
  t.field({
    type: DeleteEndpointPayload,
    authScopes: manageEnterprise,
    description: 'Deletes the endpoint: pending deliveries are cancelled; its delivery history stays readable.',
    args: { id: t.arg.id({ required: true, description: ENDPOINT_REF }) },
    resolve: async (_root, args, ctx) => ({ deletedEndpointId: await ctx.services.endpoints.delete(ctx.requireViewer(), String(args.id)) }),
  }),
);

builder.mutationField('pauseEndpoint', (t) =>
  t.field({
    type: EndpointRef,
    authScopes: operateEnterprise,
    description: 'Stops deliveries to the endpoint; its backlog waits until it is resumed. New events are not routed to it meanwhile.',
    args: { id: t.arg.id({ required: true, description: ENDPOINT_REF }) },
    resolve: (_root, args, ctx) => ctx.services.endpoints.pause(ctx.requireViewer(), String(args.id)),
  }),
);

builder.mutationField('resumeEndpoint', (t) =>
  t.field({
    type: EndpointRef,
    authScopes: operateEnterprise,
    description: 'Re-enables a paused or disabled endpoint, closes its circuit and drains its backlog.',
    args: { id: t.arg.id({ required: true, description: ENDPOINT_REF }) },
    resolve: (_root, args, ctx) => ctx.services.endpoints.resume(ctx.requireViewer(), String(args.id)),
  }),
);

builder.mutationField('setEventSubscriptions', (t) =>
  t.field({
    type: EndpointRef,
    authScopes: manageEnterprise,
    description: 'Replaces the endpoint\'s EventSubscription patterns; an empty list unsubscribes it from everything.',
    args: {
      endpointId: t.arg.id({ required: true, description: ENDPOINT_REF }),
      patterns: t.arg.stringList({ required: true }),
    },
    resolve: async (_root, args, ctx) => {
      const result = await ctx.services.endpoints.setEventSubscriptions(ctx.requireViewer(), String(args.endpointId), args.patterns);
      ctx.loaders.patterns.clear(result.endpoint.id).prime(result.endpoint.id, [...result.patterns].sort());
      return result.endpoint;
    },
  }),
);
