import type { Sql, TransactionSql } from 'postgres';
import type { EventTypeRow } from '../db/schema.js';
import { compileMatcher } from '../domain/eventPatterns.js';
import type { EndpointFilters, EventAcceptor } from './filters/endpointFilters.js';

/** Organizations whose publish lookup a process keeps (each a few KiB). */
const MAX_CACHED_CATALOGS = 10_000;

/** What publishing needs of a catalog entry. */
export type CatalogType = Pick<EventTypeRow, 'id' | 'name' | 'schema' | 'deprecated' | 'deprecatedAt'>;

/** An organization's publish lookup as of `version` (organizations.catalog_version). */
export interface OrgCatalog {
  version: number;
  /** Event types by name; null: no such type (as of `version`). */
  types: Map<string, CatalogType | null>;
  /** Active endpoints, what they subscribe to and their content filter (absent: none). */
  endpoints: { id: string; matches: (type: string) => boolean; accepts?: EventAcceptor }[];
}

/**
 * What publishing reads of an organization (the event types a batch names, the active endpoints
 * and their filters), looked up in one round trip and kept per organization while its catalog
 * version is current.
 */
export function createCatalogCache(deps: { filters: EndpointFilters }) {
  const { filters } = deps;

  /**
   * The catalog entries the batch names and the organization's active endpoints with their
   * patterns, in one round trip, with the catalog version they were read at.
   */
  async function lookup(sql: Sql | TransactionSql, orgId: string, names: string[]): Promise<OrgCatalog> {
    const [row] = await sql<
      { version: string | null; types: (Omit<CatalogType, 'deprecatedAt'> & { deprecatedAt: string | null })[]; endpoints: { id: string; patterns: string[]; filter: string | null }[] }[]
    >`
      SELECT
        (SELECT catalog_version FROM organizations WHERE id = ${orgId}) AS version,
        (SELECT coalesce(json_agg(json_build_object('id', t.id, 'name', t.name, 'schema', t.schema, 'deprecated', t.deprecated,
                                                    'deprecatedAt', t.deprecated_at)), '[]'::json)
         FROM event_types t WHERE (t.org_id IS NULL OR t.org_id = ${orgId}) AND t.name = ANY(${names}::text[])) AS types,
        (SELECT coalesce(json_agg(json_build_object('id', x.id, 'patterns', x.patterns, 'filter', x.filter) ORDER BY x.id), '[]'::json)
         FROM (SELECT e.id, e.filter, s.patterns
               FROM endpoints e
               -- Each endpoint's own patterns by key: a join let Postgres hash the subscriptions
               -- of every organization (tenantPlans.test.ts).
               CROSS JOIN LATERAL (SELECT array_agg(s.pattern) AS patterns FROM event_subscriptions s WHERE s.endpoint_id = e.id) s
               WHERE e.org_id = ${orgId} AND e.active AND e.deleted_at IS NULL AND s.patterns IS NOT NULL
                 -- Webhooks are an enterprise feature: an organization downgraded from it keeps
                 -- its events and configuration but makes no new deliveries.
                 AND (SELECT plan FROM organizations WHERE id = ${orgId}) = 'enterprise') x) AS endpoints`;
    const types = new Map<string, CatalogType | null>(names.map((n) => [n, null]));
    for (const t of row!.types) types.set(t.name, { ...t, deprecatedAt: t.deprecatedAt ? new Date(t.deprecatedAt) : null });
    return {
      // No organization, no version (the API only publishes for the caller's own organization).
      version: row!.version === null ? -1 : Number(row!.version),
      types,
      endpoints: row!.endpoints.map((e) => ({ id: e.id, matches: compileMatcher(e.patterns), accepts: filters.acceptorFor(e.id, e.filter) })),
    };
  }

  /**
   * Per organization, the last lookup, reused while its version is current: publishing is a hot
   * path (a platform may call it a hundred times a second with a few events each) and the
   * lookup was a round trip and ~0.6 ms of Postgres per call. The publish statement checks the
   * version, so a catalog changed by any process (a new endpoint, a pause, a 410 disable by a
   * worker, a deprecated type) is never published against.
   */
  const catalogs = new Map<string, OrgCatalog>();

  /** The catalog to publish against, and whether it came from the cache (so may be out of date). */
  async function catalogFor(
    sql: Sql | TransactionSql,
    orgId: string,
    names: string[],
    fresh: boolean,
    inTx: boolean,
  ): Promise<{ catalog: OrgCatalog; cached: boolean }> {
    // Inside a caller's transaction the lookup may see that transaction's own uncommitted
    // changes (the version is bumped at commit): neither served from nor kept in the cache.
    if (inTx) return { catalog: await lookup(sql, orgId, names), cached: false };
    const cached = fresh ? undefined : catalogs.get(orgId);
    if (cached && names.every((n) => cached.types.has(n))) return { catalog: cached, cached: true };
    // Names the cache has not seen yet are read with everything else: one version for all of it.
    // Names that were unknown are not carried over, so rejected ones cannot pile up.
    const known = cached ? [...cached.types].filter(([, type]) => type !== null).map(([name]) => name) : [];
    const looked = await lookup(sql, orgId, [...new Set([...known, ...names])]);
    catalogs.delete(orgId);
    if (catalogs.size >= MAX_CACHED_CATALOGS) catalogs.delete(catalogs.keys().next().value!);
    if (looked.version !== -1) catalogs.set(orgId, looked);
    return { catalog: looked, cached: false };
  }

  return { catalogFor };
}
