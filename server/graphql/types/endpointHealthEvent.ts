import { builder } from '../builder.js';
import { renewLoaders } from '../context.js';
import { endpointArg, liveOf } from '../liveArgs.js';
import { healthStreamNeeds, type LiveHealthChange } from '../liveTopics.js';
import { selectedPaths } from '../selection.js';
import { scopeLiveStream } from '../liveScope.js';
import { CircuitStateEnum } from './enums.js';
import { EndpointRef } from './endpoint.js';

const EndpointHealthEventRef = builder.objectRef<LiveHealthChange>('EndpointHealthEvent');
EndpointHealthEventRef.implement({
  description: 'A change of an endpoint\'s health: a circuit breaker transition, a disable (410 Gone, open 5 days), a pause or a resume.',
  fields: (t) => ({
    endpointId: t.id({ resolve: (e) => e.change.endpointId }),
    circuitState: t.field({ type: CircuitStateEnum, resolve: (e) => e.change.circuitState }),
    active: t.boolean({ resolve: (e) => e.change.active }),
    disabledReason: t.string({ nullable: true, resolve: (e) => e.change.disabledReason }),
    reason: t.string({ description: 'What happened, e.g. "CLOSED → OPEN", "paused", or the disable reason.', resolve: (e) => e.change.reason }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.change.at }),
    endpoint: t.field({
      type: EndpointRef,
      description: 'The endpoint as stored right after the change.',
      resolve: async (e) => (await e.endpoint())!,
    }),
  }),
});

builder.subscriptionField('endpointHealth', (t) =>
  t.field({
    type: EndpointHealthEventRef,
    authScopes: { can: 'read' },
    description: 'Circuit breaker transitions and enable/disable changes of the organization\'s endpoints, as they happen.',
    args: { endpointId: t.arg.id({ description: 'Only changes of this endpoint (its id or client uid).' }) },
    subscribe: async (_root, args, ctx, info) => {
      const viewer = ctx.requireViewer();
      const endpointId = await endpointArg(ctx, args.endpointId);
      const stream = liveOf(ctx).subscribe(
        'endpointHealth',
        viewer.orgId,
        (c) => endpointId === null || c.endpointId === endpointId,
        healthStreamNeeds(selectedPaths(info)),
      );
      return scopeLiveStream(ctx, viewer, stream, (e) => e.change.endpointId);
    },
    resolve: (event: LiveHealthChange, _args, ctx) => {
      renewLoaders(ctx);
      return event;
    },
  }),
);
