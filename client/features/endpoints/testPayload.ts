/**
 * A starting payload for a test event: from the type's JSON Schema when it has one (its
 * properties with placeholder values), else a sample for the built-in types. Pure (unit-tested).
 */

type Schema = Record<string, unknown>;

const SAMPLES: Record<string, Record<string, unknown>> = {
  'webhook.test': { message: 'This is a test event sent from the console.' },
  'pipeline.run.started': { runId: 'run_8841', pipeline: 'nightly-etl', startedAt: '2026-12-01T02:00:00Z' },
  'pipeline.run.succeeded': { runId: 'run_8841', pipeline: 'nightly-etl', durationSeconds: 1520 },
  'pipeline.run.failed': { runId: 'run_8841', pipeline: 'nightly-etl', error: 'OOMKilled in stage transform' },
  'pipeline.run.cancelled': { runId: 'run_8841', pipeline: 'nightly-etl', cancelledBy: 'jane@example.com' },
  'orchestration.job.queued': { jobId: 'job_42', queue: 'default' },
  'orchestration.lease.acquired': { jobId: 'job_42', worker: 'worker-3' },
  'orchestration.backfill.segment_completed': { backfillId: 'bf_7', segment: '2026-11-30', rows: 120000 },
  'security.api_key.created': { apiKeyId: 'key_123', role: 'viewer', name: 'Grafana' },
  'security.sso_certificate.expiring': { expiresAt: '2027-01-15T00:00:00Z', daysLeft: 45 },
  'security.policy.changed': { policy: 'password-rotation', changedBy: 'admin@example.com' },
  'governance.contract.violation_detected': { contract: 'orders', violations: 3 },
  'governance.catalog.sync_finished': { catalog: 'warehouse', tables: 412 },
  'webhook.endpoint.disabled': { endpointId: 'ep_example', reason: 'The endpoint answered 410 Gone.' },
};

function placeholder(schema: unknown, depth: number): unknown {
  if (typeof schema !== 'object' || schema === null || depth > 5) return null;
  const s = schema as Schema;
  if ('const' in s) return s.const;
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  if ('default' in s) return s.default;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string':
      return s.format === 'date-time' ? '2026-12-01T00:00:00Z' : s.format === 'email' ? 'someone@example.com' : s.format === 'uri' ? 'https://example.com' : 'string';
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 0;
    case 'boolean':
      return false;
    case 'array':
      return s.items ? [placeholder(s.items, depth + 1)] : [];
    case 'object':
    default: {
      const properties = (typeof s.properties === 'object' && s.properties !== null ? s.properties : {}) as Record<string, unknown>;
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      const names = [...new Set([...required, ...Object.keys(properties)])];
      return Object.fromEntries(names.map((name) => [name, placeholder(properties[name] ?? {}, depth + 1)]));
    }
  }
}

/** Pretty JSON to start editing for `type` (its schema's shape, or a sample, or `{}`). */
export function examplePayload(type: string, schema: Schema | null): string {
  const value = schema ? placeholder(schema, 0) : (SAMPLES[type] ?? {});
  return JSON.stringify(value && typeof value === 'object' && !Array.isArray(value) ? value : {}, null, 2);
}

/** The edited payload, or why it cannot be sent (the server checks it against the schema). */
export function parsePayload(text: string): { ok: true; data: Record<string, unknown> } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `Not valid JSON: ${(err as Error).message}.` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: 'The payload must be a JSON object, like {"runId": "run_1"}.' };
  }
  return { ok: true, data: value as Record<string, unknown> };
}
