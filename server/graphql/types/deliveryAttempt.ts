import { builder } from '../builder.js';
import type { AttemptRow } from '../../db/schema.js';
import { AttemptTriggerEnum, ErrorClassEnum } from './enums.js';
import { DeliveryRef } from './delivery.js';
import { EndpointRef } from './endpoint.js';

export const DeliveryAttemptRef = builder.objectRef<AttemptRow>('DeliveryAttempt');
DeliveryAttemptRef.implement({
  description: 'One HTTP request to an endpoint and what came back.',
  fields: (t) => ({
    id: t.exposeID('id'),
    delivery: t.field({ type: DeliveryRef, resolve: async (a, _args, ctx) => (await ctx.loaders.delivery.load(a.deliveryId))! }),
    endpoint: t.field({ type: EndpointRef, resolve: async (a, _args, ctx) => (await ctx.loaders.endpoint.load(a.endpointId))! }),
    eventType: t.exposeString('eventType'),
    attemptNumber: t.exposeInt('attemptNumber'),
    trigger: t.expose('trigger', { type: AttemptTriggerEnum }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    durationMs: t.exposeInt('durationMs'),
    succeeded: t.exposeBoolean('succeeded'),
    requestHeaders: t.field({
      type: 'JSON',
      description: 'Headers sent (custom header values masked).',
      resolve: (a) => a.requestHeaders,
    }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true }),
    responseHeaders: t.field({ type: 'JSON', nullable: true, resolve: (a) => a.responseHeaders }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'The first 4 KiB of the response body.' }),
    errorClass: t.expose('errorClass', { type: ErrorClassEnum, nullable: true }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
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
