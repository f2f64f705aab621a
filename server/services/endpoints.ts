import type { TransactionSql } from 'postgres';
import type { Config } from '../config.js';
import { inTransaction, type Database } from '../db/client.js';
import { createEndpointsRepo, type EndpointFilter } from '../db/repos/endpoints.js';
import type { PageArgs, Page } from '../domain/pages.js';
import { CHANNELS, notifyJson, type EndpointHealthChange } from '../db/notifications.js';
import type { EndpointRow } from '../db/schema.js';
import { orThrow } from '../domain/errors.js';
import type { SecretBox } from '../crypto/secretBox.js';
import type { Engine } from '../engine/index.js';
import type { Viewer } from './auth.js';
import type { Logger } from '../logger.js';
import { createEndpointRefs } from './endpointRefs.js';
import { roleCan } from '../domain/roles.js';
import { MASK, splitUrlSecret } from '../domain/endpointSecrets.js';
import { openHeaders, openUrl } from '../crypto/endpointSecrets.js';
import { createEndpointWrites, type CreateEndpointInput, type UpdateEndpointInput } from './endpointWrites.js';
import type { EndpointScope } from './endpointScope.js';

export { MAX_PATTERNS, type CreateEndpointInput, type UpdateEndpointInput } from './endpointWrites.js';

/**
 * Endpoints, their EventSubscriptions, and the first signing key that comes with them. Every
 * method taking an endpoint accepts its id or its client uid; a label-scoped portal session sees
 * only endpoints carrying one of its labels (others are NOT_FOUND).
 */
export function createEndpointService(deps: { database: Database; config: Config; secretBox: SecretBox; engine: Engine; log: Logger; scope: EndpointScope }) {
  const { database, engine, scope } = deps;
  const repo = createEndpointsRepo(database.db);
  const writes = createEndpointWrites(deps);

  const refs = createEndpointRefs(database.db, scope);
  const findEndpoint = refs.find;
  const lockEndpoint = refs.lock;

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
    /** What endpoint URLs may look like on this server (the console's form says it before sending). */
    urlPolicy: (): { allowHttp: boolean } => ({ allowHttp: deps.config.allowHttp }),

    /** The organization's endpoints (those of the caller's labels), newest first. */
    list(viewer: Viewer, filter: EndpointFilter, page: PageArgs): Promise<Page<EndpointRow>> {
      return repo.list(viewer.orgId, { ...filter, anyLabels: scope.scopeOf(viewer) }, page);
    },

    /**
     * The endpoint's URL and custom headers as `viewer` may see them: as sent for roles that read
     * payloads (admin, operator), masked otherwise (viewers: query values and header values are
     * where receivers' tokens live). Opened from their sealed columns, never from a log or cache.
     */
    shownSecrets(viewer: Viewer, endpoint: EndpointRow): { url: string; headers: { name: string; value: string }[] } {
      const clear = roleCan(viewer.role, 'readPayload');
      const headers = clear ? openHeaders(deps.secretBox, endpoint) : (endpoint.headers ?? {});
      return {
        url: clear ? openUrl(deps.secretBox, endpoint) : splitUrlSecret(endpoint.url).display,
        headers: Object.entries(headers).map(([name, value]) => ({ name, value: clear ? value : MASK })),
      };
    },

    /** A live endpoint by id or uid; NOT_FOUND for another organization's or a deleted one. */
    get: (viewer: Viewer, idOrUid: string): Promise<EndpointRow> => findEndpoint(viewer, idOrUid),

    /** The id of a live endpoint named by id or uid (arguments such as a delivery filter's endpointId). */
    async resolveId(viewer: Viewer, idOrUid: string): Promise<string> {
      return (await findEndpoint(viewer, idOrUid)).id;
    },

    /** An endpoint id or uid as a history filter (see EndpointRefs.filterId). */
    filterId: refs.filterId,

    /** Validation and transactional writes, shared with applyConfiguration. */
    writes,

    /**
     * Creates the endpoint, its EventSubscriptions and its first signing key in one transaction. `secret` is the HMAC secret, shown only here (null for Ed25519, whose
     * public key is in the organization's JWKS).
     */
    async create(viewer: Viewer, input: CreateEndpointInput): Promise<{ endpoint: EndpointRow; secret: string | null; patterns: string[] }> {
      const prepared = orThrow(await writes.prepareCreate(viewer, input));
      return inTransaction(database, (tx) => writes.create(tx, viewer, prepared));
    },

    /** Applies the fields present in `patch`; headers replace the whole list, `tls: null` removes mTLS. */
    async update(viewer: Viewer, idOrUid: string, patch: UpdateEndpointInput): Promise<EndpointRow> {
      return inTransaction(database, async (tx) => {
        // Partial retry and breaker settings merge into the locked row, so a concurrent update
        // cannot be overwritten with values read before it committed.
        const current = await lockEndpoint(viewer, idOrUid, tx.db);
        const prepared = orThrow(await writes.prepareUpdate(viewer, current, patch, { db: tx.db }));
        return writes.update(tx, viewer, current.id, prepared);
      });
    },

    /**
     * Soft-deletes the endpoint (its delivery history stays), cancels its pending deliveries and
     * removes their waiting jobs, in one transaction (see EndpointWrites.remove).
     */
    async delete(viewer: Viewer, idOrUid: string): Promise<string> {
      return inTransaction(database, async (tx) => writes.remove(tx, viewer, await lockEndpoint(viewer, idOrUid, tx.db)));
    },

    /** Stops deliveries to the endpoint until it is resumed; its backlog waits. */
    async pause(viewer: Viewer, idOrUid: string): Promise<EndpointRow> {
      return inTransaction(database, async ({ sql, db }) => {
        const endpoint = await lockEndpoint(viewer, idOrUid, db);
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
    async resume(viewer: Viewer, idOrUid: string): Promise<EndpointRow> {
      return inTransaction(database, async ({ sql, db }) => {
        const endpoint = await lockEndpoint(viewer, idOrUid, db);
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
        // Jobs the breaker deferred to the end of its cooldown go now with the rest.
        if (endpoint.circuitOpenUntil) await engine.jobs.makeDeferredDue(sql, endpoint.id, endpoint.circuitOpenUntil);
        await engine.wake(sql, [endpoint.id]);
        return updated;
      });
    },

    /** Replaces the endpoint's EventSubscription patterns (an empty list unsubscribes it from everything). */
    async setEventSubscriptions(viewer: Viewer, idOrUid: string, patterns: readonly string[]): Promise<{ endpoint: EndpointRow; patterns: string[] }> {
      return inTransaction(database, async (tx) => {
        const current = await lockEndpoint(viewer, idOrUid, tx.db);
        const prepared = orThrow(await writes.prepareUpdate(viewer, current, { patterns }, { db: tx.db }));
        return { endpoint: await writes.update(tx, viewer, current.id, prepared), patterns: prepared.patterns ?? [] };
      });
    },
  };
}
export type EndpointService = ReturnType<typeof createEndpointService>;
