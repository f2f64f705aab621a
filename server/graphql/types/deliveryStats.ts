import { builder } from '../builder.js';
import type { ErrorClassCount, StatsBucket } from '../../services/deliveryStats.js';
import { ErrorClassEnum } from './enums.js';
import { ENDPOINT_REF } from './endpoint.js';

/** Buckets an answer will hold, for its cost (the window is checked, and refused if too large, when it runs). */
function bucketCountEstimate(args: { since?: unknown; until?: unknown; bucketSeconds?: unknown }): number {
  const since = args.since instanceof Date ? args.since.getTime() : NaN;
  const until = args.until instanceof Date ? args.until.getTime() : Date.now();
  const bucketMs = typeof args.bucketSeconds === 'number' && args.bucketSeconds > 0 ? args.bucketSeconds * 1000 : NaN;
  const count = Math.ceil((until - since) / bucketMs);
  // A window of over 2,000 buckets (or none) is refused with its own message when it runs.
  return Number.isFinite(count) && count >= 1 && count <= 2000 ? count : 1;
}

const ErrorClassCountRef = builder.objectRef<ErrorClassCount>('ErrorClassCount').implement({
  fields: (t) => ({
    errorClass: t.expose('errorClass', { type: ErrorClassEnum }),
    count: t.exposeInt('count'),
  }),
});

const DeliveryStatsBucketRef = builder.objectRef<StatsBucket>('DeliveryStatsBucket').implement({
  description: 'Attempts to one endpoint that started in [start, end): counts by outcome and duration percentiles.',
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime' }),
    end: t.expose('end', { type: 'DateTime', description: 'Exclusive; the last bucket ends at `until`.' }),
    succeeded: t.exposeInt('succeeded', { description: 'Attempts answered with a 2xx in time.' }),
    failed: t.exposeInt('failed'),
    total: t.exposeInt('total'),
    p50: t.exposeFloat('p50', { nullable: true, description: 'Median attempt duration in ms (all attempts, failed ones included); null for an empty bucket.' }),
    p95: t.exposeFloat('p95', { nullable: true, description: '95th percentile attempt duration in ms.' }),
    p99: t.exposeFloat('p99', { nullable: true, description: '99th percentile attempt duration in ms.' }),
    failuresByErrorClass: t.field({
      type: [ErrorClassCountRef],
      description: 'Failed attempts by error class, in ErrorClass order. Reads every failed attempt of the window (the counts above do not): ask only when needed.',
      resolve: (b) => b.failuresByErrorClass(),
    }),
  }),
});

builder.queryField('deliveryStats', (t) =>
  t.field({
    type: [DeliveryStatsBucketRef],
    authScopes: { can: 'read' },
    description:
      'Attempts to an endpoint per time bucket, oldest first: one bucket per `bucketSeconds` from `since` to `until` (default now), ' +
      'empty ones included. bucketSeconds 10–86,400; at most 2,000 buckets.',
    args: {
      endpointId: t.arg.id({ required: true, description: ENDPOINT_REF }),
      since: t.arg({ type: 'DateTime', required: true }),
      until: t.arg({ type: 'DateTime', description: 'Exclusive end of the window; default now.' }),
      bucketSeconds: t.arg.int({ required: true }),
    },
    // Cost: one entry per bucket (up to 2,000), not the default list multiplier.
    complexity: (args) => ({ field: 1, multiplier: bucketCountEstimate(args) }),
    resolve: (_root, args, ctx) =>
      ctx.services.deliveryStats.buckets(
        ctx.requireViewer(),
        { endpointId: String(args.endpointId), since: args.since, until: args.until, bucketSeconds: args.bucketSeconds },
        Date.now(),
      ),
  }),
);
