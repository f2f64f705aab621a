import type { TransactionSql } from 'postgres';
import { ConfigError, type Config } from '../config.js';
import { inTransaction, type Database, type Db } from '../db/client.js';
import { createEndpointsRepo, type EndpointFilter } from '../db/repos/endpoints.js';
import { createEventTypesRepo } from '../db/repos/eventTypes.js';
import { createSigningKeysRepo } from '../db/repos/signingKeys.js';
import type { PageArgs, Page } from '../db/repos/pagination.js';
import { CHANNELS, notifyJson, type EndpointHealthChange } from '../db/notifications.js';
import type { EndpointRow, endpoints as endpointsTable } from '../db/schema.js';
import {
  createUrlRules,
  validateCreateEndpoint,
  validateEndpointUpdate,
  type CreateEndpointSettingsInput,
  type EndpointSettings,
  type EndpointSettingsInput,
  type EndpointSettingsPatch,
} from '../domain/endpointSettings.js';
import { assertNoProblems, notFound, type InputProblem } from '../domain/errors.js';
import { validatePatterns } from '../domain/eventPatterns.js';
import { isIdOf } from '../domain/ids.js';
import { newId } from '../crypto/random.js';
import type { SecretBox } from '../crypto/secretBox.js';
import type { Engine } from '../engine/index.js';
import type { Viewer } from './auth.js';
import type { Logger } from '../logger.js';
import { ensureOrgEd25519Key, lockOrgEd25519Keys, newHmacKey } from './signingKeys.js';

export const MAX_PATTERNS = 100;

export interface CreateEndpointInput extends CreateEndpointSettingsInput {
  /** EventSubscription patterns; none means the endpoint receives nothing until some are set. */
  patterns?: readonly string[] | null;
}

export interface UpdateEndpointInput extends EndpointSettingsInput {
  /** Replaces the EventSubscription patterns when present. */
  patterns?: readonly string[] | null;
}

type EndpointValues = Partial<typeof endpointsTable.$inferInsert>;

/** Endpoints, their EventSubscriptions, and the queue and first signing key that come with them. */
export function createEndpointService(deps: { database: Database; config: Config; secretBox: SecretBox; engine: Engine; log: Logger }) {
  const { database, secretBox, engine } = deps;
  const repo = createEndpointsRepo(database.db);
  const eventTypes = createEventTypesRepo(database.db);
  const signingKeys = createSigningKeysRepo(database.db);
  const built = createUrlRules({ allowHttp: deps.config.allowHttp, allowedCidrs: deps.config.allowedCidrs });
  if (!built.ok) throw new ConfigError(`Invalid configuration: ${built.error}`);
  const urlRules = built.rules;

  /** Stored columns for validated settings (the mTLS key is sealed here, never stored in clear). */
  function toColumns(s: EndpointSettingsPatch): EndpointValues {
    const v: EndpointValues = {};
    if (s.url !== undefined) v.url = s.url;
    if (s.description !== undefined) v.description = s.description;
    if (s.labels !== undefined) v.labels = s.labels;
    if (s.timeoutMs !== undefined) v.timeoutMs = s.timeoutMs;
    if (s.retryPolicy !== undefined) {
      v.retryInitialBackoffSeconds = s.retryPolicy.initialBackoffSeconds;
      v.retryMultiplier = s.retryPolicy.multiplier;
      v.retryMaxBackoffSeconds = s.retryPolicy.maxBackoffSeconds;
      v.retryMaxAttempts = s.retryPolicy.maxAttempts;
    }
    if (s.circuitBreaker !== undefined) {
      v.breakerEnabled = s.circuitBreaker.enabled;
      v.breakerFailureThreshold = s.circuitBreaker.failureThreshold;
      v.breakerCooldownSeconds = s.circuitBreaker.cooldownSeconds;
    }
    if (s.maxInFlight !== undefined) v.maxInFlight = s.maxInFlight;
    if (s.rateLimitPerSecond !== undefined) v.rateLimitPerSecond = s.rateLimitPerSecond;
    if (s.orderingMode !== undefined) v.orderingMode = s.orderingMode;
    // A JSON object keeps insertion order, and names were checked to be unique ignoring case.
    if (s.headers !== undefined) v.headers = Object.fromEntries(s.headers.map((h) => [h.name, h.value]));
    if (s.tls !== undefined) {
      v.tlsClientCertificatePem = s.tls?.clientCertificatePem ?? null;
      v.tlsClientKeySealed = s.tls?.clientKeyPem ? secretBox.seal(s.tls.clientKeyPem) : null;
      v.tlsCaCertificatePem = s.tls?.caCertificatePem ?? null;
    }
    return v;
  }

  /** Problems with a pattern list, checked against the organization's non-deprecated catalog. */
  async function checkPatterns(orgId: string, patterns: readonly string[] | null | undefined, field: string): Promise<{ patterns: string[]; problems: InputProblem[] }> {
    const list = patterns ?? [];
    if (list.length > MAX_PATTERNS) {
      return { patterns: [], problems: [{ field, message: `An endpoint has at most ${MAX_PATTERNS} EventSubscription patterns (got ${list.length}); use prefixes such as "security.*".` }] };
    }
    if (list.length === 0) return { patterns: [], problems: [] };
    const catalog = (await eventTypes.listForOrg(orgId)).filter((t) => !t.deprecated).map((t) => t.name);
    const result = validatePatterns(list, catalog);
    return result.ok ? { patterns: result.patterns, problems: [] } : { patterns: [], problems: result.problems.map((message) => ({ field, message })) };
  }

  async function lockEndpoint(viewer: Viewer, id: string, db: Db): Promise<EndpointRow> {
    const endpoint = isIdOf('endpoint', id) ? await repo.lockForOrg(viewer.orgId, id, db) : null;
    if (!endpoint) throw notFound('endpoint', id);
    return endpoint;
  }

  async function notifyHealth(sql: TransactionSql, endpoint: EndpointRow, reason: string): Promise<void> {
    const change: EndpointHealthChange = {
      orgId: endpoint.orgId,
      endpointId: endpoint.id,
      circuitState: endpoint.circuitState,
      active: endpoint.active,
      disabledReason: endpoint.disabledReason,
      reason,
      at: new Date().toISOString(),
    };
    await notifyJson(sql, CHANNELS.endpointHealth, [change]);
  }

  return {
    /** The organization's endpoints, newest first. */
    list(viewer: Viewer, filter: EndpointFilter, page: PageArgs): Promise<Page<EndpointRow>> {
      return repo.list(viewer.orgId, filter, page);
    },

    async get(viewer: Viewer, id: string): Promise<EndpointRow> {
      const endpoint = isIdOf('endpoint', id) ? await repo.findForOrg(viewer.orgId, id) : null;
      if (!endpoint) throw notFound('endpoint', id);
      return endpoint;
    },

    /**
     * Creates the endpoint, its EventSubscriptions, its first signing key and its delivery queue
     * in one transaction. `secret` is the HMAC secret, shown only here (null for Ed25519, whose
     * public key is in the organization's JWKS).
     */
    async create(viewer: Viewer, input: CreateEndpointInput): Promise<{ endpoint: EndpointRow; secret: string | null; patterns: string[] }> {
      const validated = validateCreateEndpoint(input, urlRules, Date.now());
      const patterns = await checkPatterns(viewer.orgId, input.patterns, 'patterns');
      assertNoProblems([...(validated.ok ? [] : validated.problems), ...patterns.problems]);
      const settings = (validated as { ok: true; value: EndpointSettings }).value;

      return inTransaction(database, async ({ sql, db }) => {
        const endpoint = await repo.insert(
          { id: newId('endpoint'), orgId: viewer.orgId, ...toColumns(settings), signingAlgorithm: settings.signingAlgorithm } as typeof endpointsTable.$inferInsert,
          db,
        );
        await repo.replacePatterns(endpoint.id, patterns.patterns, db);
        let secret: string | null = null;
        if (settings.signingAlgorithm === 'ED25519') {
          await lockOrgEd25519Keys(sql, viewer.orgId);
          await ensureOrgEd25519Key(db, secretBox, viewer.orgId);
        } else {
          const key = newHmacKey(secretBox, viewer.orgId, endpoint.id);
          await signingKeys.insert(key.row, db);
          secret = key.secret;
        }
        await engine.jobQueue.createEndpointQueue(sql, endpoint.id);
        await engine.notifyEndpointChanged(sql, { orgId: viewer.orgId, endpointId: endpoint.id });
        return { endpoint, secret, patterns: patterns.patterns };
      });
    },

    /** Applies the fields present in `patch`; headers replace the whole list, `tls: null` removes mTLS. */
    async update(viewer: Viewer, id: string, patch: UpdateEndpointInput): Promise<EndpointRow> {
      return inTransaction(database, async ({ sql, db }) => {
        // Partial retry and breaker settings merge into the locked row, so a concurrent update
        // cannot be overwritten with values read before it committed.
        const current = await lockEndpoint(viewer, id, db);
        const patterns = patch.patterns !== undefined ? await checkPatterns(viewer.orgId, patch.patterns, 'patterns') : null;
        const validated = validateEndpointUpdate(
          patch,
          {
            retryPolicy: {
              initialBackoffSeconds: current.retryInitialBackoffSeconds,
              multiplier: current.retryMultiplier,
              maxBackoffSeconds: current.retryMaxBackoffSeconds,
              maxAttempts: current.retryMaxAttempts,
            },
            circuitBreaker: {
              enabled: current.breakerEnabled,
              failureThreshold: current.breakerFailureThreshold,
              cooldownSeconds: current.breakerCooldownSeconds,
            },
          },
          urlRules,
          Date.now(),
        );
        assertNoProblems([...(validated.ok ? [] : validated.problems), ...(patterns?.problems ?? [])]);
        const values = toColumns((validated as { ok: true; value: EndpointSettingsPatch }).value);
        const updated = await repo.update(id, values, db);
        if (patterns) await repo.replacePatterns(id, patterns.patterns, db);
        await engine.notifyEndpointChanged(sql, { orgId: viewer.orgId, endpointId: id });
        return updated;
      });
    },

    /**
     * Soft-deletes the endpoint (its delivery history stays), cancels its pending deliveries and
     * drops its queue with every waiting job.
     */
    async delete(viewer: Viewer, id: string): Promise<string> {
      const deletedId = await inTransaction(database, async ({ sql, db }) => {
        const endpoint = await lockEndpoint(viewer, id, db);
        await repo.update(endpoint.id, { deletedAt: new Date() }, db);
        // Pending deliveries are in the partitions from the pending horizon on (and DEFAULT).
        const pendingFrom = await engine.pendingHorizon.freshDeliveryBound(sql);
        await sql`UPDATE deliveries SET status = 'CANCELLED', completed_at = now()
                  WHERE endpoint_id = ${endpoint.id} AND status = 'PENDING' AND id >= ${pendingFrom}`;
        await engine.notifyEndpointChanged(sql, { orgId: viewer.orgId, endpointId: endpoint.id, deleted: true });
        return endpoint.id;
      });
      // The queue goes after the commit, in its own transaction (see dropEndpointQueue). If this
      // process dies first, the worker's maintenance drops it later; meanwhile nothing reads it:
      // publishing skips deleted endpoints and workers retire them.
      await engine.jobQueue.dropEndpointQueue(deletedId).catch((err) => deps.log.warn({ err: (err as Error).message, endpointId: deletedId }, 'queue of a deleted endpoint not dropped yet'));
      return deletedId;
    },

    /** Stops deliveries to the endpoint until it is resumed; its backlog waits. */
    async pause(viewer: Viewer, id: string): Promise<EndpointRow> {
      return inTransaction(database, async ({ sql, db }) => {
        const endpoint = await lockEndpoint(viewer, id, db);
        if (!endpoint.active) return endpoint;
        const updated = await repo.update(
          endpoint.id,
          { active: false, disabledReason: `Paused by "${viewer.apiKeyName}"`, disabledAt: new Date() },
          db,
        );
        await engine.notifyEndpointChanged(sql, { orgId: viewer.orgId, endpointId: endpoint.id });
        await notifyHealth(sql, updated, updated.disabledReason ?? 'Paused');
        return updated;
      });
    },

    /** Re-enables the endpoint with a closed circuit and wakes its workers so the backlog drains. */
    async resume(viewer: Viewer, id: string): Promise<EndpointRow> {
      return inTransaction(database, async ({ sql, db }) => {
        const endpoint = await lockEndpoint(viewer, id, db);
        const updated = await repo.update(
          endpoint.id,
          {
            active: true,
            disabledReason: null,
            disabledAt: null,
            circuitState: 'CLOSED',
            consecutiveFailures: 0,
            circuitOpenedAt: null,
            circuitOpenUntil: null,
            circuitCooldownSeconds: null,
          },
          db,
        );
        await engine.notifyEndpointChanged(sql, { orgId: viewer.orgId, endpointId: endpoint.id });
        await notifyHealth(sql, updated, `Resumed by "${viewer.apiKeyName}"`);
        await engine.wake(sql, [endpoint.id]);
        return updated;
      });
    },

    /** Replaces the endpoint's EventSubscription patterns (an empty list unsubscribes it from everything). */
    async setEventSubscriptions(viewer: Viewer, endpointId: string, patterns: readonly string[]): Promise<{ endpoint: EndpointRow; patterns: string[] }> {
      if (!isIdOf('endpoint', endpointId) || !(await repo.findForOrg(viewer.orgId, endpointId))) throw notFound('endpoint', endpointId);
      const checked = await checkPatterns(viewer.orgId, patterns, 'patterns');
      assertNoProblems(checked.problems);
      return inTransaction(database, async ({ sql, db }) => {
        await lockEndpoint(viewer, endpointId, db);
        await repo.replacePatterns(endpointId, checked.patterns, db);
        const endpoint = await repo.update(endpointId, {}, db);
        await engine.notifyEndpointChanged(sql, { orgId: viewer.orgId, endpointId });
        return { endpoint, patterns: checked.patterns };
      });
    },
  };
}
export type EndpointService = ReturnType<typeof createEndpointService>;
