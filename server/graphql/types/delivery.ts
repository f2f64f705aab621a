import { builder } from '../builder.js';
import type { DeliveryRow } from '../../db/schema.js';
import { rowField, rowResolvers } from '../liveRows.js';
import { LiveDelivery } from '../liveTopics.js';
import { pageArgs, toConnection } from '../connection.js';
import { DeliveryStatusEnum } from './enums.js';
import { EventRef } from './event.js';
import { EndpointRef } from './endpoint.js';
import { DeliveryAttemptRef } from './deliveryAttempt.js';

const from = rowResolvers<DeliveryRow>();

export const DeliveryRef = builder.objectRef<DeliveryRow | LiveDelivery>('Delivery');
DeliveryRef.implement({
  description: 'One event to one endpoint: PENDING until an attempt succeeds (SUCCEEDED) or attempts run out (DEAD).',
  fields: (t) => ({
    id: t.id({ resolve: (d) => d.id }),
    status: t.field({ type: DeliveryStatusEnum, resolve: from('status') }),
    event: t.field({
      type: EventRef,
      resolve: async (d, _args, ctx) => (await ctx.loaders.event.load(await rowField(d, 'eventId')))!,
    }),
    endpoint: t.field({
      type: EndpointRef,
      description: 'The endpoint, even if it was deleted since (see Endpoint.deletedAt).',
      resolve: async (d, _args, ctx) => (d instanceof LiveDelivery ? await d.endpoint() : await ctx.loaders.endpoint.load(d.endpointId))!,
    }),
    eventType: t.string({ resolve: from('eventType') }),
    orderingKey: t.string({ nullable: true, resolve: from('orderingKey') }),
    attemptCount: t.int({ resolve: from('attemptCount') }),
    nextAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: from('nextAttemptAt') }),
    lastAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: from('lastAttemptAt') }),
    lastAttempt: t.field({
      type: DeliveryAttemptRef,
      nullable: true,
      resolve: async (d, _args, ctx) => {
        const id = await rowField(d, 'lastAttemptId');
        return id ? ctx.loaders.attempt.load(id) : null;
      },
    }),
    attempts: t.field({
      type: [DeliveryAttemptRef],
      description: 'Every attempt, oldest first.',
      resolve: async (d, _args, ctx) =>
        ctx.loaders.attemptsOfDelivery.load({
          id: d.id,
          lastAttemptAt: await rowField(d, 'lastAttemptAt'),
          completedAt: await rowField(d, 'completedAt'),
        }),
    }),
    parked: t.boolean({
      description: 'STRICT ordering: waiting behind an earlier delivery with the same orderingKey.',
      resolve: from('parked'),
    }),
    isTest: t.boolean({ resolve: from('isTest') }),
    createdAt: t.field({ type: 'DateTime', resolve: from('createdAt') }),
    completedAt: t.field({ type: 'DateTime', nullable: true, resolve: from('completedAt') }),
  }),
});

export const DeliveryFilterInput = builder.inputType('DeliveryFilter', {
  fields: (t) => ({
    endpointId: t.id({ description: 'The endpoint\'s id (a deleted endpoint\'s history is reached by its id) or the client uid of a live one.' }),
    eventId: t.id(),
    statuses: t.field({ type: [DeliveryStatusEnum] }),
    eventType: t.string(),
    since: t.field({ type: 'DateTime', description: 'Created at or after.' }),
    until: t.field({ type: 'DateTime', description: 'Created before.' }),
  }),
});

const ReplayDeliveriesPayload = builder.objectRef<{ count: number }>('ReplayDeliveriesPayload').implement({
  fields: (t) => ({ count: t.exposeInt('count', { description: 'Deliveries re-armed (0 when nothing matched).' }) }),
});

function filterArgs(filter: { endpointId?: string | number | null; eventId?: string | number | null } & Record<string, unknown>) {
  return {
    ...filter,
    endpointId: filter.endpointId == null ? null : String(filter.endpointId),
    eventId: filter.eventId == null ? null : String(filter.eventId),
  };
}

builder.queryFields((t) => ({
  deliveries: t.connection({
    type: DeliveryRef,
    authScopes: { can: 'read' },
    description: 'Deliveries, newest first. Dead letters: `statuses: [DEAD]`.',
    args: { filter: t.arg({ type: DeliveryFilterInput }) },
    resolve: async (_root, args, ctx) =>
      toConnection(await ctx.services.deliveries.listDeliveries(ctx.requireViewer(), filterArgs(args.filter ?? {}), pageArgs(args))),
  }),
  delivery: t.field({
    type: DeliveryRef,
    authScopes: { can: 'read' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.deliveries.getDelivery(ctx.requireViewer(), String(args.id)),
  }),
}));

builder.mutationFields((t) => ({
  retryDelivery: t.field({
    type: DeliveryRef,
    authScopes: { $all: { can: 'operate', enterprise: true } },
    description: 'Attempts a DEAD or failed delivery now. A DEAD one gets one attempt and returns to DEAD if it fails.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.deliveries.retryDelivery(ctx.requireViewer(), String(args.id)),
  }),
  replayDeliveries: t.field({
    type: ReplayDeliveriesPayload,
    authScopes: { $all: { can: 'operate', enterprise: true } },
    description: 'Re-arms DEAD (default) and failed PENDING deliveries matching the filter, at most 100,000 per call.',
    args: { filter: t.arg({ type: DeliveryFilterInput, required: true }) },
    resolve: async (_root, args, ctx) => ({
      count: await ctx.services.deliveries.replayDeliveries(ctx.requireViewer(), filterArgs(args.filter)),
    }),
  }),
}));
