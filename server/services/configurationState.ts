import type { Db } from '../db/client.js';
import { createEndpointsRepo } from '../db/repos/endpoints.js';
import { createEventTypesRepo } from '../db/repos/eventTypes.js';
import type { EndpointRow, EventTypeRow } from '../db/schema.js';
import type { CurrentEndpoint } from '../domain/configuration/endpointFields.js';
import type { CurrentEventType } from '../domain/configuration/eventTypeFields.js';
import type { CurrentState } from '../domain/configuration/plan.js';
import { BUILT_IN_EVENT_TYPES } from '../domain/eventCatalog.js';
import type { SecretBox } from '../crypto/secretBox.js';
import { openHeaders, openUrl } from '../crypto/endpointSecrets.js';

/**
 * An endpoint row as the configuration domain compares it: every setting in its input form,
 * secrets opened (for comparison on this server only; exports write references instead). Where
 * a setting is stored sealed, this is the one place that opens it for configuration.
 */
export function currentEndpoint(row: EndpointRow, patterns: readonly string[], secretBox: SecretBox): CurrentEndpoint {
  const hasTls = row.tlsClientCertificatePem !== null || row.tlsCaCertificatePem !== null || row.tlsClientKeySealed !== null;
  return {
    id: row.id,
    uid: row.uid,
    patterns: [...patterns].sort(),
    settings: {
      url: openUrl(secretBox, row),
      description: row.description,
      labels: [...row.labels],
      timeoutMs: row.timeoutMs,
      retryPolicy: {
        initialBackoffSeconds: row.retryInitialBackoffSeconds,
        multiplier: row.retryMultiplier,
        maxBackoffSeconds: row.retryMaxBackoffSeconds,
        maxAttempts: row.retryMaxAttempts,
      },
      circuitBreaker: { enabled: row.breakerEnabled, failureThreshold: row.breakerFailureThreshold, cooldownSeconds: row.breakerCooldownSeconds },
      maxInFlight: row.maxInFlight,
      rateLimitPerSecond: row.rateLimitPerSecond,
      orderingMode: row.orderingMode,
      headers: Object.entries(openHeaders(secretBox, row)).map(([name, value]) => ({ name, value })),
      tls: hasTls
        ? {
            clientCertificatePem: row.tlsClientCertificatePem,
            clientKeyPem: row.tlsClientKeySealed === null ? null : secretBox.openText(row.tlsClientKeySealed),
            caCertificatePem: row.tlsCaCertificatePem,
          }
        : null,
      signingAlgorithm: row.signingAlgorithm,
    },
  };
}

export function currentEventType(row: EventTypeRow): CurrentEventType {
  return { id: row.id, name: row.name, uid: row.uid, category: row.category, description: row.description, schema: row.schema ?? null, deprecated: row.deprecated };
}

/** The rows behind a CurrentState, by id, for the writes that follow a plan. */
export interface StateRows {
  state: CurrentState;
  endpoints: Map<string, EndpointRow>;
  eventTypes: Map<string, EventTypeRow>;
}

/**
 * Reads an organization's configuration through `db` (a transaction when applying). With
 * `lockEventTypes`, the organization's own types stay locked until it ends; endpoints are read
 * without locks (the caller locks those it will change: workers update endpoint rows as they
 * deliver, and must not wait for an apply that leaves their endpoint alone).
 */
export async function readConfigurationState(db: Db, orgId: string, secretBox: SecretBox, options: { lockEventTypes: boolean }): Promise<StateRows> {
  const endpointsRepo = createEndpointsRepo(db);
  const eventTypesRepo = createEventTypesRepo(db);
  const typeRows = options.lockEventTypes ? await eventTypesRepo.lockOwn(orgId, db) : (await eventTypesRepo.listForOrg(orgId, db)).filter((t) => t.orgId !== null);
  const endpointRows = await endpointsRepo.liveForOrg(orgId, db);
  const patterns = await endpointsRepo.patternsFor(endpointRows.map((e) => e.id), { tx: db });
  return {
    state: {
      endpoints: endpointRows.map((row) => currentEndpoint(row, patterns.get(row.id) ?? [], secretBox)),
      eventTypes: typeRows.map(currentEventType),
      builtInEventTypes: BUILT_IN_EVENT_TYPES.map((t) => t.name),
    },
    endpoints: new Map(endpointRows.map((r) => [r.id, r])),
    eventTypes: new Map(typeRows.map((r) => [r.id, r])),
  };
}
