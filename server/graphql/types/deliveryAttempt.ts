import { builder } from '../builder.js';
import type { AttemptRow } from '../../db/schema.js';
import { rowResolvers } from '../liveRows.js';
import { LiveAttempt } from '../liveTopics.js';
import { AttemptTriggerEnum, ErrorClassEnum } from './enums.js';
import { DeliveryRef } from './delivery.js';
import { EndpointRef } from './endpoint.js';
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
  }),
});

builder.mutationField('sendTestEvent', (t) =>
  t.field({
    type: DeliveryAttemptRef,
    authScopes: { $all: { can: 'operate', enterprise: true } },
    description:
      'Sends a webhook.test event to the endpoint now and answers with the attempt. Ignores EventSubscriptions, the circuit breaker and pausing.',
    args: { endpointId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.deliveries.sendTestEvent(ctx.requireViewer(), String(args.endpointId)),
  }),
);
