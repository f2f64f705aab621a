import type { TransactionSql } from 'postgres';
import { ConfigError, type Config } from '../config.js';
import type { Database, Db, Tx } from '../db/client.js';
import { createEndpointsRepo } from '../db/repos/endpoints.js';
import { lockName, lockNames } from '../db/nameLocks.js';
import { createEventTypesRepo } from '../db/repos/eventTypes.js';
import { createSigningKeysRepo } from '../db/repos/signingKeys.js';
import type { EndpointRow, endpoints as endpointsTable } from '../db/schema.js';
import { checkUid } from '../domain/clientIds.js';
import { createUrlRules } from '../domain/endpointUrl.js';
import {
  validateCreateEndpoint,
  validateEndpointUpdate,
  type CreateEndpointSettingsInput,
  type EndpointSettings,
  type EndpointSettingsInput,
  type EndpointSettingsPatch,
  type SettingsResult,
} from '../domain/endpointSettings.js';
import { badInput, type InputProblem } from '../domain/errors.js';
import { validatePatterns } from '../domain/eventPatterns.js';
import { newId } from '../crypto/random.js';
import type { SecretBox } from '../crypto/secretBox.js';
import { sealHeaders, sealUrl } from '../crypto/endpointSecrets.js';
import type { Engine } from '../engine/index.js';
import type { Logger } from '../logger.js';
import type { Viewer } from './auth.js';
import { ensureOrgEd25519Key, lockOrgEd25519Keys, newHmacKey } from './signingKeys.js';
import { createEndpointContentService, type EndpointContentInput } from './endpointContent.js';
import type { EndpointScope } from './endpointScope.js';

export const MAX_PATTERNS = 100;

export interface CreateEndpointInput extends CreateEndpointSettingsInput, EndpointContentInput {
  /** Client id (domain/clientIds.ts); null or absent for none. */
  uid?: string | null;
  /** EventSubscription patterns; none means the endpoint receives nothing until some are set. */
  patterns?: readonly string[] | null;
}

export interface UpdateEndpointInput extends EndpointSettingsInput, EndpointContentInput {
  /** A new client id; null or "" removes it. */
  uid?: string | null;
  /** Replaces the EventSubscription patterns when present. */
  patterns?: readonly string[] | null;
}

/** What validation needs besides the input: the catalog to check patterns against, and where to read. */
export interface PrepareOptions {
  /** Event-type names patterns may match (non-deprecated); read from the database when absent. */
  catalog?: readonly string[];
  /** Reads go through this handle (a caller's transaction) when given. */
  db?: Db;
}

/** A validated CreateEndpointInput, ready to be written. */
export interface PreparedCreate {
  settings: EndpointSettings;
  uid: string | null;
  patterns: string[];
  /** Content filter and transformation columns (endpointContent.ts). */
  content: EndpointValues;
}

/** A validated UpdateEndpointInput: the columns to change and, when given, the new patterns. */
export interface PreparedUpdate {
  values: EndpointValues;
  patterns: string[] | null;
  /** The settings given, normalised as they will be stored (secrets in clear). */
  settings: EndpointSettingsPatch;
}

type EndpointValues = Partial<typeof endpointsTable.$inferInsert>;

/**
 * Endpoint writes split in two steps, so one request (createEndpoint) and a whole configuration
 * (applyConfiguration) share the same rules: `prepare*` validates and reports every problem by
 * field path without writing; the write functions then run inside the caller's transaction.
 */
export function createEndpointWrites(deps: { database: Database; config: Config; secretBox: SecretBox; engine: Engine; log: Logger; scope: EndpointScope }) {
  const { database, secretBox, engine, scope } = deps;
  const content = createEndpointContentService({ engine });
  const repo = createEndpointsRepo(database.db);
  const eventTypes = createEventTypesRepo(database.db);
  const signingKeys = createSigningKeysRepo(database.db);
  const built = createUrlRules({ allowHttp: deps.config.allowHttp, allowedCidrs: deps.config.allowedCidrs });
  if (!built.ok) throw new ConfigError(`Invalid configuration: ${built.error}`);
  const urlRules = built.rules;

  /**
   * Stored columns for validated settings: the mTLS key, the URL's query string and the custom
   * header values are sealed here, never stored in clear (the plain columns keep masked forms).
   */
  function toColumns(s: EndpointSettingsPatch): EndpointValues {
    const v: EndpointValues = {};
    if (s.url !== undefined) Object.assign(v, sealUrl(secretBox, s.url));
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
    if (s.headers !== undefined) Object.assign(v, sealHeaders(secretBox, Object.fromEntries(s.headers.map((h) => [h.name, h.value]))));
    if (s.tls !== undefined) {
      v.tlsClientCertificatePem = s.tls?.clientCertificatePem ?? null;
      v.tlsClientKeySealed = s.tls?.clientKeyPem ? secretBox.seal(s.tls.clientKeyPem) : null;
      v.tlsCaCertificatePem = s.tls?.caCertificatePem ?? null;
    }
    return v;
  }

  /** Problems with a pattern list, checked against the organization's non-deprecated catalog. */
  async function checkPatterns(
    orgId: string,
    patterns: readonly string[] | null | undefined,
    options: PrepareOptions,
  ): Promise<{ patterns: string[]; problems: InputProblem[] }> {
    const field = 'patterns';
    const list = patterns ?? [];
    if (list.length > MAX_PATTERNS) {
      return { patterns: [], problems: [{ field, message: `An endpoint has at most ${MAX_PATTERNS} EventSubscription patterns (got ${list.length}); use prefixes such as "security.*".` }] };
    }
    if (list.length === 0) return { patterns: [], problems: [] };
    const catalog = options.catalog ?? (await eventTypes.listForOrg(orgId, options.db)).filter((t) => !t.deprecated).map((t) => t.name);
    const result = validatePatterns(list, catalog);
    return result.ok ? { patterns: result.patterns, problems: [] } : { patterns: [], problems: result.problems.map((message) => ({ field, message })) };
  }

  function clashMessage(uid: string, existing: EndpointRow): string {
    return `uid "${uid}" is already used by endpoint ${existing.id} (${existing.url}); choose another uid, or change that endpoint instead.`;
  }

  /** The uid problem of giving `uid` to an endpoint (`selfId` when it already exists). */
  async function checkUidFree(orgId: string, uid: string | null | undefined, selfId: string | null, db?: Db): Promise<InputProblem | null> {
    if (!uid) return null;
    const existing = await repo.findByRef(orgId, { by: 'uid', uid }, db);
    return existing && existing.id !== selfId ? { field: 'uid', message: clashMessage(uid, existing) } : null;
  }

  /** Takes the endpoint's new uid in `tx`: locked, then checked again now that earlier writers committed. */
  async function claimUid(sql: TransactionSql, db: Db, orgId: string, uid: string | null | undefined, selfId: string | null): Promise<void> {
    if (!uid) return;
    await lockNames(sql, orgId, [lockName.endpointUid(uid)]);
    const clash = await checkUidFree(orgId, uid, selfId, db);
    if (clash) throw badInput(clash.message, 'uid');
  }

  async function notifyChanged(sql: TransactionSql, orgId: string, endpointId: string, deleted = false): Promise<void> {
    await engine.notifyEndpointChanged(sql, { orgId, endpointId, ...(deleted ? { deleted: true } : {}) });
  }

  return {
    urlRules,

    /** Validates a CreateEndpointInput: every problem at once, nothing written. */
    async prepareCreate(viewer: Viewer, input: CreateEndpointInput, options: PrepareOptions = {}): Promise<SettingsResult<PreparedCreate>> {
      const problems: InputProblem[] = [];
      const uid = checkUid(input.uid, 'uid', problems) ?? null;
      const validated = validateCreateEndpoint(input, urlRules, Date.now());
      if (!validated.ok) problems.push(...validated.problems);
      const patterns = await checkPatterns(viewer.orgId, input.patterns, options);
      problems.push(...patterns.problems);
      const extra = await content.check(viewer, input);
      problems.push(...extra.problems);
      if (problems.length === 0) {
        const clash = await checkUidFree(viewer.orgId, uid, null, options.db);
        if (clash) problems.push(clash);
      }
      if (problems.length > 0 || !validated.ok) return { ok: false, problems };
      // A label-scoped portal session creates only endpoints it will see.
      scope.assertLabelsInScope(viewer, validated.value.labels);
      return { ok: true, value: { settings: validated.value, uid, patterns: patterns.patterns, content: content.changedColumns(null, extra.columns) } };
    },

    /**
     * Validates an UpdateEndpointInput against the endpoint as it is (`current`, locked by the
     * caller): partial retry and breaker settings merge into its values.
     */
    async prepareUpdate(viewer: Viewer, current: EndpointRow, patch: UpdateEndpointInput, options: PrepareOptions = {}): Promise<SettingsResult<PreparedUpdate>> {
      const problems: InputProblem[] = [];
      const uid = checkUid(patch.uid, 'uid', problems);
      const patterns = patch.patterns !== undefined ? await checkPatterns(viewer.orgId, patch.patterns, options) : null;
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
      if (!validated.ok) problems.push(...validated.problems);
      problems.push(...(patterns?.problems ?? []));
      const extra = await content.check(viewer, patch);
      problems.push(...extra.problems);
      if (problems.length === 0) {
        const clash = await checkUidFree(viewer.orgId, uid, current.id, options.db);
        if (clash) problems.push(clash);
      }
      if (problems.length > 0 || !validated.ok) return { ok: false, problems };
      if (validated.value.labels !== undefined) scope.assertLabelsInScope(viewer, validated.value.labels);
      const values = { ...toColumns(validated.value), ...content.changedColumns(current, extra.columns) };
      if (uid !== undefined) values.uid = uid;
      return { ok: true, value: { values, patterns: patterns?.patterns ?? null, settings: validated.value } };
    },

    /**
     * Creates the endpoint, its EventSubscriptions and its first signing key in `tx` (its jobs go
     * to the shard queue of its slot: nothing to create). `secret` is the HMAC secret, shown only to the caller (null for Ed25519, whose
     * public key is in the organization's JWKS).
     */
    async create({ sql, db }: Tx, viewer: Viewer, prepared: PreparedCreate): Promise<{ endpoint: EndpointRow; secret: string | null; patterns: string[] }> {
      const { settings } = prepared;
      await claimUid(sql, db, viewer.orgId, prepared.uid, null);
      const endpoint = await repo.insert(
        {
          id: newId('endpoint'),
          orgId: viewer.orgId,
          uid: prepared.uid,
          ...toColumns(settings),
          ...prepared.content,
          signingAlgorithm: settings.signingAlgorithm,
        } as typeof endpointsTable.$inferInsert,
        db,
      );
      await repo.replacePatterns(endpoint.id, prepared.patterns, db);
      let secret: string | null = null;
      if (settings.signingAlgorithm === 'ED25519') {
        await lockOrgEd25519Keys(sql, viewer.orgId);
        await ensureOrgEd25519Key(db, secretBox, viewer.orgId);
      } else {
        const key = newHmacKey(secretBox, viewer.orgId, endpoint.id);
        await signingKeys.insert(key.row, db);
        secret = key.secret;
      }
      await notifyChanged(sql, viewer.orgId, endpoint.id);
      return { endpoint, secret, patterns: prepared.patterns };
    },

    /** Writes a prepared update of `endpointId` (locked by the caller) in `tx`. */
    async update({ sql, db }: Tx, viewer: Viewer, endpointId: string, prepared: PreparedUpdate): Promise<EndpointRow> {
      await claimUid(sql, db, viewer.orgId, prepared.values.uid, endpointId);
      const updated = await repo.update(endpointId, prepared.values, db);
      if (prepared.patterns) await repo.replacePatterns(endpointId, prepared.patterns, db);
      await notifyChanged(sql, viewer.orgId, endpointId);
      return updated;
    },

    /**
     * Soft-deletes the endpoint (its delivery history stays), cancels its pending deliveries and
     * removes their waiting jobs, in `tx`. A job leased at that moment is dropped by the worker
     * (its delivery is no longer pending); one written by a publish racing this deletion is
     * cleaned up by the worker when it finds it.
     */
    async remove({ sql, db }: Tx, viewer: Viewer, endpoint: EndpointRow): Promise<string> {
      await repo.update(endpoint.id, { deletedAt: new Date() }, db);
      // Pending deliveries are in the partitions from the pending horizon on (and DEFAULT).
      const pendingFrom = await engine.pendingHorizon.freshDeliveryBound(sql);
      await sql`UPDATE deliveries SET status = 'CANCELLED', completed_at = now()
                WHERE endpoint_id = ${endpoint.id} AND status = 'PENDING' AND id >= ${pendingFrom}`;
      await engine.jobs.removeForEndpoint(sql, endpoint.id);
      await notifyChanged(sql, viewer.orgId, endpoint.id, true);
      return endpoint.id;
    },
  };
}
export type EndpointWrites = ReturnType<typeof createEndpointWrites>;
