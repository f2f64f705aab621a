import { builder } from '../builder.js';
import type { EndpointHealth } from '../../domain/endpointHealth.js';
import type { EndpointBacklog } from '../../services/endpointHealth.js';
import { EndpointRef } from './endpoint.js';

const EndpointHealthStatusEnum = builder.enumType('EndpointHealthStatus', {
  description:
    'PAUSED (by hand) and DISABLED (410 Gone, circuit open 5 days) first, then CIRCUIT_OPEN and PROBING (half open), then the recent ' +
    'attempts: FAILING (≥ 50% failed, or 5 consecutive failures), DEGRADED (≥ 10%, or 3 consecutive), else HEALTHY.',
  values: ['HEALTHY', 'DEGRADED', 'FAILING', 'CIRCUIT_OPEN', 'PROBING', 'PAUSED', 'DISABLED'] as const,
});

const EndpointHealthRef = builder.objectRef<EndpointHealth>('EndpointHealth').implement({
  description:
    'How the endpoint is doing: its state, and its recent attempts (the newest 100 of the last 24 hours; rates need at least 5).',
  fields: (t) => ({
    status: t.expose('status', { type: EndpointHealthStatusEnum }),
    recentFailureRate: t.exposeFloat('recentFailureRate', { nullable: true, description: 'Failed share (0–1) of the recent attempts; null without any.' }),
    recentAttempts: t.exposeInt('recentAttempts'),
    recentFailures: t.exposeInt('recentFailures'),
    consecutiveFailures: t.exposeInt('consecutiveFailures'),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    reason: t.exposeString('reason', { description: 'Why the status is what it is, in one sentence.' }),
  }),
});

const EndpointBacklogRef = builder.objectRef<EndpointBacklog>('EndpointBacklog').implement({
  description: 'Deliveries waiting for the endpoint (PENDING): behind its circuit or its pause, or for their next retry.',
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'How many, counted up to 100,000.' }),
    capped: t.exposeBoolean('capped', { description: 'True when more than `count` are waiting.' }),
    oldestCreatedAt: t.expose('oldestCreatedAt', { type: 'DateTime', nullable: true, description: 'Since when: creation time of the oldest one.' }),
  }),
});

builder.objectFields(EndpointRef, (t) => ({
  health: t.field({
    type: EndpointHealthRef,
    description: 'Health from the circuit, the pause state and the recent failure rate (batched across a list).',
    resolve: (e, _args, ctx) => ctx.loaders.health.load(e),
  }),
  backlog: t.field({
    type: EndpointBacklogRef,
    description: 'How many deliveries wait for this endpoint and since when (two index reads; ask on detail views).',
    complexity: 20,
    resolve: (e, _args, ctx) => ctx.services.endpointHealth.backlog(e),
  }),
  circuitOpenedAt: t.expose('circuitOpenedAt', {
    type: 'DateTime',
    nullable: true,
    description: 'When the current open streak began (kept while the circuit reopens); null while CLOSED.',
  }),
}));
