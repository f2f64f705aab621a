import { builder } from '../builder.js';
import { renewLoaders } from '../context.js';
import { endpointArg, liveOf } from '../liveArgs.js';
import { attemptStreamNeeds, type LiveAttempt } from '../liveTopics.js';
import { selectedPaths } from '../selection.js';
import { scopeLiveStream } from '../liveScope.js';
import { DeliveryStatusEnum } from './enums.js';
import { DeliveryAttemptRef } from './deliveryAttempt.js';

builder.subscriptionField('deliveryAttempts', (t) =>
  t.field({
    type: DeliveryAttemptRef,
    authScopes: { can: 'read' },
    description:
      'Every attempt of the organization as it is recorded, by any worker process: scheduled, manual and test. ' +
      'Live only (nothing is replayed on connect; read history with `deliveries`). ' +
      "In a message, `delivery.status` is the status right after that attempt, and `endpoint` is as stored at most a second earlier.",
    args: {
      endpointId: t.arg.id({ description: 'Only attempts to this endpoint (its id or client uid).' }),
      statuses: t.arg({
        type: [DeliveryStatusEnum],
        description: 'Only attempts after which the delivery is in one of these statuses (e.g. [DEAD] for attempts that killed their delivery).',
      }),
    },
    subscribe: async (_root, args, ctx, info) => {
      const viewer = ctx.requireViewer();
      const endpointId = await endpointArg(ctx, args.endpointId);
      const statuses = args.statuses?.length ? new Set<string>(args.statuses) : null;
      const stream = liveOf(ctx).subscribe(
        'attempts',
        viewer.orgId,
        (s) => (endpointId === null || s.endpointId === endpointId) && (statuses === null || statuses.has(s.deliveryStatus)),
        attemptStreamNeeds(selectedPaths(info)),
      );
      return scopeLiveStream(ctx, viewer, stream, (a) => a.summary.endpointId);
    },
    // Fields the notification carried resolve without a query; the rest load once per
    // notification batch for every subscriber of this process (see liveTopics.ts), as the
    // batch arrives when the subscription's selection asks for them.
    resolve: (live: LiveAttempt, _args, ctx) => {
      renewLoaders(ctx);
      return live;
    },
  }),
);
