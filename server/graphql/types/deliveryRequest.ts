import { builder } from '../builder.js';
import { roleCan } from '../../domain/roles.js';
import { rowField } from '../liveRows.js';
import { DeliveryRef } from './delivery.js';

builder.objectFields(DeliveryRef, (t) => ({
  requestBody: t.string({
    nullable: true,
    description:
      'The exact body POSTed to the endpoint on every attempt: the envelope {"id","type","timestamp","data"}, byte for byte. ' +
      'Null for roles that may not read payloads (viewer) and once the payload was purged (see Event.payloadPurgedAt). ' +
      "Each attempt's headers are in DeliveryAttempt.requestHeaders.",
    // A boolean scope (not the throwing `can` loader): viewers get null instead of an error.
    authScopes: (_parent, _args, ctx) => roleCan(ctx.requireViewer().role, 'readPayload'),
    unauthorizedResolver: () => null,
    resolve: async (d, _args, ctx) => ctx.loaders.requestBody.load(await rowField(d, 'eventId')),
  }),
}));
