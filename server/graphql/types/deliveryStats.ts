import { builder } from '../builder.js';
import { DomainError } from '../../domain/errors.js';
import type { ErrorClass } from '../../domain/attemptOutcome.js';
import { planStatsWindow } from '../../domain/statsWindow.js';
import { createStatsRepo, type StatsQuery } from '../../db/repos/stats.js';
import { endpointArg } from '../liveArgs.js';
import { ErrorClassEnum } from './enums.js';
import { ENDPOINT_REF } from './endpoint.js';

interface ErrorClassCount {
  errorClass: ErrorClass;
  count: number;
}

interface StatsBucket {
  start: Date;
  end: Date;
  succeeded: number;
  failed: number;
  total: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Shared by every bucket of one answer: one extra query, run only when a bucket asks for it. */
  failuresByErrorClass: () => Promise<Map<number, ErrorClassCount[]>>;
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
      resolve: async (b) => (await b.failuresByErrorClass()).get(b.start.getTime()) ?? [],
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
    resolve: async (_root, args, ctx) => {
      ctx.requireViewer();
      const window = planStatsWindow({ since: args.since, until: args.until, bucketSeconds: args.bucketSeconds, nowMs: Date.now() });
      if (window instanceof DomainError) throw window;
      const endpointId = (await endpointArg(ctx, args.endpointId))!;
      const repo = createStatsRepo(ctx.services.engine.database.sql);
      const query: StatsQuery = { endpointId, since: new Date(window.sinceMs), until: new Date(window.untilMs), bucketSeconds: window.bucketSeconds };
      const rows = new Map((await repo.buckets(query)).map((r) => [r.start.getTime(), r]));
      let failures: Promise<Map<number, ErrorClassCount[]>> | null = null;
      const failuresByErrorClass = () =>
        (failures ??= repo.failuresByErrorClass(query).then((list) => {
          const byStart = new Map<number, ErrorClassCount[]>();
          for (const f of list) {
            const key = f.start.getTime();
            if (!byStart.has(key)) byStart.set(key, []);
            byStart.get(key)!.push({ errorClass: f.errorClass as ErrorClass, count: f.count });
          }
          return byStart;
        }));
      const stepMs = window.bucketSeconds * 1000;
      return Array.from({ length: window.bucketCount }, (_, i): StatsBucket => {
        const startMs = window.sinceMs + i * stepMs;
        const row = rows.get(startMs);
        return {
          start: new Date(startMs),
          end: new Date(Math.min(startMs + stepMs, window.untilMs)),
          succeeded: row?.succeeded ?? 0,
          failed: row?.failed ?? 0,
          total: row?.total ?? 0,
          p50: row?.percentiles[0] ?? null,
          p95: row?.percentiles[1] ?? null,
          p99: row?.percentiles[2] ?? null,
          failuresByErrorClass,
        };
      });
    },
  }),
);
