import type { Sql } from 'postgres';
import type { SecretBox } from '../crypto/secretBox.js';
import { openHeaders, openUrl } from '../crypto/endpointSecrets.js';
import { createSigner, decodeHmacSecret, type Signer, type SignerKey } from '../domain/signing.js';
import type { RetryPolicy } from '../domain/retrySchedule.js';
import type { BreakerSettings, BreakerState, CircuitState } from '../domain/circuitBreaker.js';
import type { OutboundTls } from './httpSender.js';
import type { TransformationInput, TransformationOutcome } from '../domain/transformation.js';
import type { TransformPool } from './transform/pool.js';

/** Everything needed to send to one endpoint, with secrets decrypted; cached by the worker. */
export interface EndpointRuntime {
  id: string;
  orgId: string;
  url: string;
  /** Delivering: the endpoint is active and its organization on a plan with webhooks. */
  active: boolean;
  /** The organization is on a plan without webhooks: deliveries wait until it upgrades. */
  planHeld: boolean;
  deleted: boolean;
  timeoutMs: number;
  retryPolicy: RetryPolicy;
  breakerSettings: BreakerSettings;
  breaker: BreakerState;
  maxInFlight: number;
  rateLimitPerSecond: number | null;
  orderingMode: 'BEST_EFFORT' | 'STRICT';
  headers: Record<string, string>;
  tls: OutboundTls | null;
  signer: Signer;
  /** Algorithms in the signature header, for the attempt record. */
  signatureCount: number;
  /** When a key starts or stops signing (end of a grace period): reload the runtime then. */
  reloadAtMs: number | null;
  /** The endpoint's transformation, run in the sandbox pool; null when it has none. */
  transform: ((input: TransformationInput) => Promise<{ outcome: TransformationOutcome; durationMs: number }>) | null;
}

interface EndpointSqlRow {
  id: string;
  org_id: string;
  org_plan: 'enterprise' | 'professional' | 'starter' | null;
  url: string;
  url_query_sealed: string | null;
  active: boolean;
  deleted_at: Date | null;
  timeout_ms: number;
  retry_initial_backoff_seconds: number;
  retry_multiplier: number;
  retry_max_backoff_seconds: number;
  retry_max_attempts: number;
  breaker_enabled: boolean;
  breaker_failure_threshold: number;
  breaker_cooldown_seconds: number;
  max_in_flight: number;
  rate_limit_per_second: number | null;
  ordering_mode: 'BEST_EFFORT' | 'STRICT';
  headers: Record<string, string>;
  headers_sealed: string | null;
  tls_client_certificate_pem: string | null;
  tls_client_key_sealed: string | null;
  tls_ca_certificate_pem: string | null;
  signing_algorithm: 'HMAC_SHA256' | 'ED25519';
  ed25519_grace_until: Date | null;
  circuit_state: CircuitState;
  circuit_opened_at: Date | null;
  circuit_open_until: Date | null;
  circuit_cooldown_seconds: number | null;
  consecutive_failures: number;
  transformation: string | null;
}

interface KeySqlRow {
  endpoint_id: string | null;
  org_id: string;
  algorithm: 'HMAC_SHA256' | 'ED25519';
  secret_sealed: string;
  expires_at: Date | null;
}

/**
 * Loads endpoint runtimes in batches: one query for the endpoints, one for the keys that sign for
 * them now (the endpoint's HMAC keys, plus the org's Ed25519 keys when it signs with Ed25519 or
 * is inside the grace period of a switch away from it).
 */
export function createRuntimeLoader(deps: { sql: Sql; secretBox: SecretBox; transforms?: TransformPool }) {
  const { sql, secretBox, transforms } = deps;

  return async function loadRuntimes(endpointIds: readonly string[]): Promise<Map<string, EndpointRuntime>> {
    const result = new Map<string, EndpointRuntime>();
    if (endpointIds.length === 0) return result;
    // Unique ids: the lookups below return a row per id given (a repeated id would sign twice).
    const ids = [...new Set(endpointIds)];
    // Each endpoint and each key by index, one lookup per id (OFFSET 0 keeps each lookup its own
    // subquery): a plain `= ANY` or an OR let the planner read every endpoint or every key of
    // every organization when the statistics are young (right after organizations are
    // provisioned in bulk): 21 ms a load at 30,000 endpoints (tenantPlans.test.ts).
    const endpoints = await sql<EndpointSqlRow[]>`
      SELECT e.*, (SELECT o.plan FROM organizations o WHERE o.id = e.org_id) AS org_plan
      FROM unnest(${ids}::text[]) AS x(id) CROSS JOIN LATERAL (SELECT * FROM endpoints WHERE id = x.id OFFSET 0) e`;
    if (endpoints.length === 0) return result;
    const orgIds = [...new Set(endpoints.map((e) => e.org_id))];
    const keys = await sql<KeySqlRow[]>`
      SELECT * FROM (
        SELECT k.id, k.endpoint_id, k.org_id, k.algorithm, k.secret_sealed, k.expires_at
        FROM unnest(${ids}::text[]) AS x(id)
        CROSS JOIN LATERAL (SELECT * FROM signing_keys WHERE endpoint_id = x.id OFFSET 0) k
        WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
        UNION ALL
        SELECT k.id, k.endpoint_id, k.org_id, k.algorithm, k.secret_sealed, k.expires_at
        FROM unnest(${orgIds}::text[]) AS o(id)
        CROSS JOIN LATERAL (SELECT * FROM signing_keys WHERE org_id = o.id AND algorithm = 'ED25519' OFFSET 0) k
        WHERE k.endpoint_id IS NULL AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
      ) k ORDER BY id DESC`;
    const nowMs = Date.now();
    for (const e of endpoints) {
      const ed25519 = e.signing_algorithm === 'ED25519' || (e.ed25519_grace_until !== null && e.ed25519_grace_until.getTime() > nowMs);
      const mine = keys.filter(
        (k) => k.endpoint_id === e.id || (ed25519 && k.endpoint_id === null && k.org_id === e.org_id),
      );
      // Newest key first, HMAC before Ed25519: receivers that check only the first entry still pass.
      mine.sort((a, b) => (a.algorithm === b.algorithm ? 0 : a.algorithm === 'HMAC_SHA256' ? -1 : 1));
      const signerKeys: SignerKey[] = mine.map((k) =>
        k.algorithm === 'HMAC_SHA256'
          ? { algorithm: 'HMAC_SHA256', secret: decodeHmacSecret(secretBox.openText(k.secret_sealed)) }
          : { algorithm: 'ED25519', seed: secretBox.open(k.secret_sealed) },
      );
      const changes = [
        ...mine.map((k) => k.expires_at?.getTime() ?? null),
        ed25519 && e.signing_algorithm !== 'ED25519' ? (e.ed25519_grace_until?.getTime() ?? null) : null,
      ].filter((t): t is number => t !== null);
      result.set(e.id, {
        id: e.id,
        orgId: e.org_id,
        // The query string and header values are sealed at rest (issue 16): opened here, once per load.
        url: openUrl(secretBox, { url: e.url, urlQuerySealed: e.url_query_sealed }),
        active: e.active && e.org_plan === 'enterprise',
        planHeld: e.org_plan !== 'enterprise',
        deleted: e.deleted_at !== null,
        timeoutMs: e.timeout_ms,
        retryPolicy: {
          initialBackoffSeconds: e.retry_initial_backoff_seconds,
          multiplier: e.retry_multiplier,
          maxBackoffSeconds: e.retry_max_backoff_seconds,
          maxAttempts: e.retry_max_attempts,
        },
        breakerSettings: {
          enabled: e.breaker_enabled,
          failureThreshold: e.breaker_failure_threshold,
          cooldownSeconds: e.breaker_cooldown_seconds,
        },
        breaker: {
          state: e.circuit_state,
          consecutiveFailures: e.consecutive_failures,
          openedAtMs: e.circuit_opened_at?.getTime() ?? null,
          openUntilMs: e.circuit_open_until?.getTime() ?? null,
          currentCooldownSeconds: e.circuit_cooldown_seconds,
        },
        maxInFlight: e.max_in_flight,
        rateLimitPerSecond: e.rate_limit_per_second,
        orderingMode: e.ordering_mode,
        headers: openHeaders(secretBox, { headers: e.headers, headersSealed: e.headers_sealed }),
        tls:
          e.tls_client_certificate_pem || e.tls_ca_certificate_pem
            ? {
                clientCertificatePem: e.tls_client_certificate_pem ?? undefined,
                clientKeyPem: e.tls_client_key_sealed ? secretBox.openText(e.tls_client_key_sealed) : undefined,
                caCertificatePem: e.tls_ca_certificate_pem ?? undefined,
              }
            : null,
        signer: createSigner(signerKeys),
        signatureCount: signerKeys.length,
        reloadAtMs: changes.length ? Math.min(...changes) : null,
        transform: e.transformation !== null && transforms ? transformFor(transforms, e.id, e.transformation) : null,
      });
    }
    return result;
  };
}
export type RuntimeLoader = ReturnType<typeof createRuntimeLoader>;

/** Runs `code` for this endpoint in the pool (its runs queue under the endpoint's own key). */
function transformFor(pool: TransformPool, endpointId: string, code: string): NonNullable<EndpointRuntime['transform']> {
  return async (input) => {
    const { outcome, durationMs } = await pool.run(endpointId, code, input);
    // A check-only answer never comes back for a run with input.
    return { outcome: outcome.kind === 'defined' ? { kind: 'error', message: 'the sandbox did not run the handler.' } : outcome, durationMs };
  };
}
