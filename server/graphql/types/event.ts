import { builder } from '../builder.js';
import type { EventRow } from '../../db/schema.js';
import type { PublishOutcome } from '../../engine/publish.js';
import { pageArgs, toConnection } from '../connection.js';
import { DeliveryRef } from './delivery.js';
import { PAYLOAD_FIELD_COST } from '../costs.js';

export const EventRef = builder.objectRef<EventRow>('Event');
EventRef.implement({
  description: 'A published event. Its id is the `webhook-id` and envelope `id` on every delivery and retry.',
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.exposeString('type'),
    data: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The payload; null for viewers (they never see payloads) and after the retention period.',
      authScopes: { can: 'readPayload' },
      unauthorizedResolver: () => null,
      complexity: PAYLOAD_FIELD_COST.eventData,
      resolve: (e) => e.data,
    }),
    eventId: t.exposeString('idempotencyKey', { nullable: true, description: 'The idempotency key given at publish time.' }),
    orderingKey: t.exposeString('orderingKey', { nullable: true }),
    traceparent: t.exposeString('traceparent', {
      nullable: true,
      description: 'W3C traceparent of the publish: every delivery request of this event carries this trace id (with a new span id each).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    payloadPurgedAt: t.expose('payloadPurgedAt', { type: 'DateTime', nullable: true }),
    deliveries: t.field({
      type: [DeliveryRef],
      description: 'One delivery per endpoint the event was routed to (empty for publisher keys, which cannot read deliveries).',
      authScopes: { can: 'read' },
      // A publisher reading back what it published must not lose the whole answer over this field.
      unauthorizedResolver: () => [],
      resolve: (e, _args, ctx) => ctx.loaders.deliveriesOfEvent.load(e.id),
    }),
  }),
});

const PublishEventInput = builder.inputType('PublishEventInput', {
  fields: (t) => ({
    type: t.string({ required: true, description: 'An event type of the catalog, e.g. pipeline.run.failed.' }),
    data: t.field({ type: 'JSON', required: true, description: 'A JSON object, at most 256 KiB.' }),
    eventId: t.string({ description: 'Idempotency key: publishing the same eventId again returns the first event (duplicate: true).' }),
    orderingKey: t.string({ description: 'The logical resource (e.g. a pipeline run id): its events are never in flight at once to one endpoint.' }),
    traceparent: t.string({
      description:
        'W3C traceparent (e.g. "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") whose trace this event\'s deliveries continue; defaults to the request\'s traceparent header.',
    }),
  }),
});

const PublishEventPayload = builder.objectRef<PublishOutcome>('PublishEventPayload').implement({
  fields: (t) => ({
    event: t.field({ type: EventRef, resolve: (p) => p.event }),
    duplicate: t.exposeBoolean('duplicate', { description: 'True when eventId was already used: nothing new was created.' }),
    deliveryCount: t.exposeInt('deliveryCount', { description: 'Deliveries created (one per matching active endpoint).' }),
  }),
});

const EventFilter = builder.inputType('EventFilter', {
  fields: (t) => ({
    type: t.string(),
    eventId: t.string({ description: 'The idempotency key given at publish time (Event.eventId).' }),
    orderingKey: t.string(),
    since: t.field({ type: 'DateTime' }),
    until: t.field({ type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  events: t.connection({
    type: EventRef,
    authScopes: { can: 'read' },
    description: 'Published events, newest first.',
    args: { filter: t.arg({ type: EventFilter }) },
    resolve: async (_root, args, ctx) =>
      toConnection(await ctx.services.deliveries.listEvents(ctx.requireViewer(), args.filter ?? {}, pageArgs(args))),
  }),
  event: t.field({
    type: EventRef,
    authScopes: { can: 'read' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.deliveries.getEvent(ctx.requireViewer(), String(args.id)),
  }),
}));

builder.mutationFields((t) => ({
  publishEvent: t.field({
    type: PublishEventPayload,
    authScopes: { $all: { can: 'publish', apiKey: true } },
    description: 'Publishes one event. Durable when it returns: the event, its deliveries and their queue jobs are committed together.',
    args: { input: t.arg({ type: PublishEventInput, required: true }) },
    resolve: async (_root, args, ctx) => (await ctx.services.deliveries.publish(ctx.requireViewer(), [args.input], false, ctx.traceparent))[0]!,
  }),
  publishEvents: t.field({
    type: [PublishEventPayload],
    authScopes: { $all: { can: 'publish', apiKey: true } },
    description: 'Publishes up to 1,000 events in one transaction; results come back in input order.',
    args: { inputs: t.arg({ type: [PublishEventInput], required: true }) },
    // The answer holds one entry per input.
    complexity: (args) => ({ field: 1, multiplier: Math.max(1, Array.isArray(args.inputs) ? args.inputs.length : 1) }),
    resolve: (_root, args, ctx) => ctx.services.deliveries.publish(ctx.requireViewer(), args.inputs, true, ctx.traceparent),
  }),
}));
