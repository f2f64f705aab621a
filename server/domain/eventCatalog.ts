/** One entry of the built-in event-type catalog shared by every organization. */
export interface BuiltInEventType {
  name: string;
  category: string;
  description: string;
}

/** The built-in catalog (SPEC §3); seeded at start and never editable by organizations. */
export const BUILT_IN_EVENT_TYPES: readonly BuiltInEventType[] = [
  { name: 'pipeline.run.started', category: 'pipeline', description: 'A pipeline run started executing.' },
  { name: 'pipeline.run.succeeded', category: 'pipeline', description: 'A pipeline run finished successfully.' },
  { name: 'pipeline.run.failed', category: 'pipeline', description: 'A pipeline run failed.' },
  { name: 'pipeline.run.cancelled', category: 'pipeline', description: 'A pipeline run was cancelled before finishing.' },
  { name: 'orchestration.job.queued', category: 'orchestration', description: 'A job was queued for execution.' },
  { name: 'orchestration.lease.acquired', category: 'orchestration', description: 'A worker acquired the lease on a job.' },
  {
    name: 'orchestration.backfill.segment_completed',
    category: 'orchestration',
    description: 'One segment of a backfill completed.',
  },
  { name: 'security.api_key.created', category: 'security', description: 'An API key was created in the organization.' },
  {
    name: 'security.sso_certificate.expiring',
    category: 'security',
    description: 'The SSO signing certificate expires soon.',
  },
  { name: 'security.policy.changed', category: 'security', description: 'A security policy was changed.' },
  {
    name: 'governance.contract.violation_detected',
    category: 'governance',
    description: 'A data contract violation was detected.',
  },
  {
    name: 'governance.catalog.sync_finished',
    category: 'governance',
    description: 'A data catalog synchronisation finished.',
  },
  { name: 'webhook.test', category: 'webhook', description: 'A test event sent from the console or the API.' },
  {
    name: 'webhook.endpoint.disabled',
    category: 'webhook',
    description: 'An endpoint was disabled (410 Gone, or its circuit stayed open for 5 days).',
  },
  {
    name: 'webhook.endpoint.circuit_opened',
    category: 'webhook',
    description: "An endpoint's circuit breaker opened after consecutive failures: its deliveries wait until a probe succeeds.",
  },
  {
    name: 'webhook.endpoint.recovered',
    category: 'webhook',
    description: "An endpoint's circuit breaker closed again after a successful probe: its backlog drains.",
  },
  {
    name: 'webhook.delivery.exhausted',
    category: 'webhook',
    description: 'A delivery used up its attempts and is dead (replayable from the console or the API).',
  },
];

/** Category of an event type name: its first segment. */
export function categoryOf(typeName: string): string {
  return typeName.split('.')[0] ?? typeName;
}
