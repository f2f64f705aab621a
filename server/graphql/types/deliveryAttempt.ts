import { builder } from '../builder.js';
import { roleCan } from '../../domain/roles.js';
import type { AttemptRow } from '../../db/schema.js';
import { rowResolvers } from '../liveRows.js';
import { LiveAttempt } from '../liveTopics.js';
import { AttemptTriggerEnum, ErrorClassEnum } from './enums.js';
import { DeliveryRef } from './delivery.js';
import { EndpointRef } from './endpoint.js';
import { ENDPOINT_REF } from './endpoint.js';
import { PAYLOAD_FIELD_COST } from '../costs.js';

const from = rowResolvers<AttemptRow>();

export const DeliveryAttemptRef = builder.objectRef<AttemptRow | LiveAttempt>('DeliveryAttempt');
DeliveryAttemptRef.implement({
  description: 'One HTTP request to an endpoint and what came back.',
  fields: (t) => ({
    id: t.id({ resolve: (a) => a.id }),
    delivery: t.field({
      type: DeliveryRef,
      resolve: async (a, _args, ctx) => (a instanceof LiveAttempt ? a.delivery : (await ctx.loaders.delivery.load(a.deliveryId))!),
    }),
    endpoint: t.field({
      type: EndpointRef,
      resolve: async (a, _args, ctx) => (a instanceof LiveAttempt ? await a.endpoint() : await ctx.loaders.endpoint.load(a.endpointId))!,
    }),
    eventType: t.string({ resolve: from('eventType') }),
    attemptNumber: t.int({ resolve: from('attemptNumber') }),
    trigger: t.field({ type: AttemptTriggerEnum, resolve: from('trigger') }),
    startedAt: t.field({ type: 'DateTime', resolve: from('startedAt') }),
    durationMs: t.int({ resolve: from('durationMs') }),
    succeeded: t.boolean({ resolve: from('succeeded') }),
    requestHeaders: t.field({
      type: 'JSON',
      description: 'Headers sent (custom header values masked).',
      complexity: PAYLOAD_FIELD_COST.headers,
      resolve: from('requestHeaders'),
    }),
    responseStatus: t.int({ nullable: true, resolve: from('responseStatus') }),
    // A receiver's answer can echo the payload, set cookies or carry tokens: viewers get null
    // (queries and live streams alike), and nothing is loaded for them.
    responseHeaders: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Headers the endpoint answered with; null for viewers.',
      authScopes: { can: 'readPayload' },
      unauthorizedResolver: () => null,
      complexity: PAYLOAD_FIELD_COST.headers,
      resolve: from('responseHeaders'),
    }),
    responseBody: t.string({
      nullable: true,
      description: 'The first 4 KiB of the response body; null for viewers.',
      authScopes: { can: 'readPayload' },
      unauthorizedResolver: () => null,
      complexity: PAYLOAD_FIELD_COST.responseBody,
      resolve: from('responseBody'),
    }),
    errorClass: t.field({ type: ErrorClassEnum, nullable: true, resolve: from('errorClass') }),
    errorMessage: t.string({ nullable: true, resolve: from('errorMessage') }),
    requestBody: t.string({
      nullable: true,
      description:
        'The body as sent, when the endpoint\'s transformation changed it; null when the body was the event\'s envelope (rebuild it from the event). Null for roles that may not read payloads (viewer), and after the retention period.',
      authScopes: (_parent, _args, ctx) => roleCan(ctx.requireViewer().role, 'readPayload'),
      unauthorizedResolver: () => null,
      resolve: from('requestBody'),
    }),
  }),
});

builder.mutationField('sendTestEvent', (t) =>
  t.field({
    type: DeliveryAttemptRef,
    authScopes: { $all: { can: 'operate', enterprise: true } },
    description:
      'Sends a test event to the endpoint now and answers with the attempt. Ignores EventSubscriptions, the circuit breaker and pausing. ' +
      'Without `type` and `data` it is a webhook.test event; with them, any catalog type and a payload that satisfies its schema.',
    args: {
      endpointId: t.arg.id({ required: true, description: ENDPOINT_REF }),
      type: t.arg.string({ description: 'A catalog event type (not deprecated); default webhook.test.' }),
      data: t.arg({ type: 'JSON', description: "The payload: a JSON object satisfying the type's JSON Schema, at most 256 KiB; default {}." }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.deliveries.sendTestEvent(ctx.requireViewer(), String(args.endpointId), { type: args.type, data: args.data }),
  }),
);

builder.mutationField('probeEndpoint', (t) =>
  t.field({
    type: DeliveryAttemptRef,
    authScopes: { $all: { can: 'operate', enterprise: true } },
    description:
      "Sends the half-open probe of an endpoint whose circuit is OPEN now, instead of after the cooldown, and answers with the probe's attempt. " +
      'The probe is the next delivery waiting behind the circuit (sent by the worker); with none due, a webhook.test request. ' +
      'Success closes the circuit and the backlog drains; failure reopens it with a doubled cooldown. ' +
      'A probe already in flight is joined. BAD_USER_INPUT when the circuit is closed or the endpoint paused.',
    args: { id: t.arg.id({ required: true, description: ENDPOINT_REF }) },
    resolve: (_root, args, ctx) => ctx.services.deliveries.probeEndpoint(ctx.requireViewer(), String(args.id)),
  }),
);
