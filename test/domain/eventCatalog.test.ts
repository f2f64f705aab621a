import { describe, expect, it } from 'vitest';
import { BUILT_IN_EVENT_TYPES, builtInEventType, categoryOf, ENDPOINT_NOTICE_TYPES } from '../../server/domain/eventCatalog.js';
import { isValidEventTypeName } from '../../server/domain/eventPatterns.js';

// SPEC §3's catalog and the operational types of §10.
const SPEC_NAMES = [
  'pipeline.run.started',
  'pipeline.run.succeeded',
  'pipeline.run.failed',
  'pipeline.run.cancelled',
  'orchestration.job.queued',
  'orchestration.lease.acquired',
  'orchestration.backfill.segment_completed',
  'security.api_key.created',
  'security.sso_certificate.expiring',
  'security.policy.changed',
  'governance.contract.violation_detected',
  'governance.catalog.sync_finished',
  'webhook.test',
  'webhook.endpoint.disabled',
  'webhook.endpoint.circuit_opened',
  'webhook.endpoint.recovered',
  'webhook.delivery.exhausted',
];

describe('the built-in event-type catalog', () => {
  it('holds exactly the types of the SPEC, each once', () => {
    expect(BUILT_IN_EVENT_TYPES.map((t) => t.name).sort()).toEqual([...SPEC_NAMES].sort());
  });

  it.each(BUILT_IN_EVENT_TYPES.map((t) => [t.name, t] as const))('%s: valid name, its category, a description, a JSON object example', (name, type) => {
    expect(isValidEventTypeName(name)).toBe(true);
    expect(type.category).toBe(categoryOf(name));
    expect(type.description.length).toBeGreaterThan(10);
    expect(typeof type.example).toBe('object');
    expect(Array.isArray(type.example)).toBe(false);
    expect(Object.keys(type.example).length).toBeGreaterThan(0);
    // Survives JSON unchanged: it is shown through the API as a JSON value.
    expect(JSON.parse(JSON.stringify(type.example))).toEqual(type.example);
    expect(builtInEventType(name)).toBe(type);
  });

  it('knows which types are notices about an endpoint: each is built in and names the endpoint', () => {
    expect([...ENDPOINT_NOTICE_TYPES].sort()).toEqual([
      'webhook.delivery.exhausted',
      'webhook.endpoint.circuit_opened',
      'webhook.endpoint.disabled',
      'webhook.endpoint.recovered',
    ]);
    for (const name of ENDPOINT_NOTICE_TYPES) expect(builtInEventType(name)?.example).toHaveProperty('endpointId');
    expect(builtInEventType('webhook.delivery.exhausted')?.example).toMatchObject({ deliveryId: expect.any(String), eventId: expect.any(String) });
    expect(builtInEventType('nope.nothing')).toBeUndefined();
  });
});
