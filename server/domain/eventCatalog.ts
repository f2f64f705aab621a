/** One entry of the built-in event-type catalog shared by every organization. */
export interface BuiltInEventType {
  name: string;
  category: string;
  description: string;
  /** A representative `data` of this type: shown in the API and the docs for integrators. */
  example: Record<string, unknown>;
}

/**
 * The built-in catalog (SPEC §3 and §10); seeded at start and never editable by organizations.
 * The `webhook.*` types are published by the service itself into the organization's own stream
 * (so admins route them to an endpoint of their choosing); their examples are the payloads it
 * sends, field for field.
 */
export const BUILT_IN_EVENT_TYPES: readonly BuiltInEventType[] = [
  {
    name: 'pipeline.run.started',
    category: 'pipeline',
    description: 'A pipeline run started executing.',
    example: { runId: 'run_2Hc9', pipeline: 'nightly-etl', trigger: 'schedule', startedAt: '2026-12-03T02:00:04Z' },
  },
  {
    name: 'pipeline.run.succeeded',
    category: 'pipeline',
    description: 'A pipeline run finished successfully.',
    example: { runId: 'run_2Hc9', pipeline: 'nightly-etl', durationSeconds: 1834, rowsWritten: 1250000 },
  },
  {
    name: 'pipeline.run.failed',
    category: 'pipeline',
    description: 'A pipeline run failed.',
    example: { runId: 'run_2Hc9', pipeline: 'nightly-etl', step: 'load_orders', error: 'OOMKilled', attempt: 2 },
  },
  {
    name: 'pipeline.run.cancelled',
    category: 'pipeline',
    description: 'A pipeline run was cancelled before finishing.',
    example: { runId: 'run_2Hc9', pipeline: 'nightly-etl', cancelledBy: 'user:ada@example.com' },
  },
  {
    name: 'orchestration.job.queued',
    category: 'orchestration',
    description: 'A job was queued for execution.',
    example: { jobId: 'job_81f2', queue: 'default', priority: 5, queuedAt: '2026-12-03T02:00:00Z' },
  },
  {
    name: 'orchestration.lease.acquired',
    category: 'orchestration',
    description: 'A worker acquired the lease on a job.',
    example: { jobId: 'job_81f2', workerId: 'worker-7', leaseSeconds: 300 },
  },
  {
    name: 'orchestration.backfill.segment_completed',
    category: 'orchestration',
    description: 'One segment of a backfill completed.',
    example: { backfillId: 'bf_19a', segment: '2026-11-01/2026-11-08', segmentsDone: 4, segmentsTotal: 12 },
  },
  {
    name: 'security.api_key.created',
    category: 'security',
    description: 'An API key was created in the organization.',
    example: { apiKeyId: 'key_01M8CKN2KBRTPZ3VX9J7G7V2GG', name: 'pipeline platform', role: 'publisher', keyPrefix: 'whk_s6xN', createdBy: 'key_01M8CK0Q4T6Y1H6JX0RRD0K3XE' },
  },
  {
    name: 'security.sso_certificate.expiring',
    category: 'security',
    description: 'The SSO signing certificate expires soon.',
    example: { certificateId: 'cert_77', subject: 'CN=sso.example.com', expiresAt: '2027-01-02T00:00:00Z', daysLeft: 30 },
  },
  {
    name: 'security.policy.changed',
    category: 'security',
    description: 'A security policy was changed.',
    example: { policy: 'password', changedBy: 'user:ada@example.com', changes: ['minLength: 12 → 16'] },
  },
  {
    name: 'governance.contract.violation_detected',
    category: 'governance',
    description: 'A data contract violation was detected.',
    example: { contract: 'orders.v3', dataset: 'warehouse.orders', rule: 'amount >= 0', violations: 17 },
  },
  {
    name: 'governance.catalog.sync_finished',
    category: 'governance',
    description: 'A data catalog synchronisation finished.',
    example: { catalog: 'warehouse', tablesSynced: 412, durationSeconds: 96 },
  },
  {
    name: 'webhook.test',
    category: 'webhook',
    description: 'A test event sent from the console or the API.',
    example: {
      message: 'This is a test event. If you can read this, the endpoint receives and can verify webhooks.',
      endpointId: 'ep_01M8CKQ3T0VJ8Z4D5N6P7R8S9T',
      sentBy: 'key_01M8CKN2KBRTPZ3VX9J7G7V2GG',
    },
  },
  {
    name: 'webhook.endpoint.disabled',
    category: 'webhook',
    description: 'An endpoint was disabled (410 Gone, or its circuit stayed open for 5 days).',
    example: {
      endpointId: 'ep_01M8CKQ3T0VJ8Z4D5N6P7R8S9T',
      url: 'https://hooks.example.com/platform',
      reason: 'The endpoint answered 410 Gone on 2026-12-03T09:14:27.498Z.',
      disabledAt: '2026-12-03T09:14:27.512Z',
    },
  },
  {
    name: 'webhook.endpoint.circuit_opened',
    category: 'webhook',
    description:
      'An endpoint failed too many times in a row: its circuit opened and its deliveries wait (spending no attempts) until a probe succeeds. Never delivered to the endpoint it is about.',
    example: {
      endpointId: 'ep_01M8CKQ3T0VJ8Z4D5N6P7R8S9T',
      url: 'https://hooks.example.com/platform',
      consecutiveFailures: 10,
      lastErrorClass: 'HTTP_STATUS',
      lastResponseStatus: 503,
      openedAt: '2026-12-03T09:14:27.512Z',
      nextProbeAt: '2026-12-03T09:15:27.512Z',
    },
  },
  {
    name: 'webhook.endpoint.recovered',
    category: 'webhook',
    description: 'A probe to an endpoint whose circuit was open succeeded: the circuit closed and its waiting deliveries are sent again.',
    example: {
      endpointId: 'ep_01M8CKQ3T0VJ8Z4D5N6P7R8S9T',
      url: 'https://hooks.example.com/platform',
      openedAt: '2026-12-03T09:14:27.512Z',
      recoveredAt: '2026-12-03T09:31:02.118Z',
      downtimeSeconds: 995,
    },
  },
  {
    name: 'webhook.delivery.exhausted',
    category: 'webhook',
    description:
      'A delivery used its last attempt and is DEAD (dead-lettered): replay it with retryDelivery or replayDeliveries once the receiver is fixed. Never delivered to the endpoint it is about.',
    example: {
      deliveryId: 'dlv_01M8CKW9N2F4G6H8J0K2M4P6R8',
      endpointId: 'ep_01M8CKQ3T0VJ8Z4D5N6P7R8S9T',
      eventId: 'evt_01M8CKW9MZ8R191TPXRV6XTTBN',
      eventType: 'pipeline.run.failed',
      attempts: 8,
      lastErrorClass: 'TIMEOUT',
      lastResponseStatus: null,
      lastAttemptAt: '2026-12-03T19:02:11.004Z',
    },
  },
];

/**
 * Types the service publishes about an endpoint or one of its deliveries (`data.endpointId`):
 * published into the organization's stream but never delivered to that endpoint (a failing
 * endpoint would otherwise be sent news of its own failure, which fails in turn).
 */
export const ENDPOINT_NOTICE_TYPES: ReadonlySet<string> = new Set([
  'webhook.endpoint.disabled',
  'webhook.endpoint.circuit_opened',
  'webhook.endpoint.recovered',
  'webhook.delivery.exhausted',
]);

/** The built-in type named `name`, if it is one. */
export function builtInEventType(name: string): BuiltInEventType | undefined {
  return BUILT_IN_BY_NAME.get(name);
}
const BUILT_IN_BY_NAME = new Map(BUILT_IN_EVENT_TYPES.map((t) => [t.name, t]));

/** Category of an event type name: its first segment. */
export function categoryOf(typeName: string): string {
  return typeName.split('.')[0] ?? typeName;
}
