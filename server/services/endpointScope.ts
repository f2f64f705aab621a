import type { Sql } from 'postgres';
import { labelsInScope } from '../domain/portalSessions.js';
import { badInput, notFound } from '../domain/errors.js';
import type { Viewer } from './auth.js';

/**
 * Label scoping of portal sessions: a session created with labels sees (and creates) only
 * endpoints carrying one of them, and through them only their deliveries, attempts, events,
 * keys and statistics. Everything else answers NOT_FOUND or is left out of lists, exactly like
 * another organization's data. Unscoped callers (API keys, portal sessions without labels) pass.
 */
export function createEndpointScope(deps: { sql: Sql }) {
  const { sql } = deps;
  const scopeOf = (viewer: Viewer) => viewer.portal?.labels ?? null;

  return {
    scopeOf,
    /** Whether an endpoint (of the viewer's organization) is visible to the viewer. */
    sees(viewer: Viewer, endpoint: { labels: string[] }): boolean {
      return labelsInScope(scopeOf(viewer), endpoint.labels);
    },
    /** NOT_FOUND unless the endpoint is visible. */
    assertSees(viewer: Viewer, endpoint: { id: string; labels: string[] }): void {
      if (!labelsInScope(scopeOf(viewer), endpoint.labels)) throw notFound('endpoint', endpoint.id);
    },
    /** Whether the endpoint with this id is visible (its labels are read; unscoped callers never query). */
    async seesId(viewer: Viewer, endpointId: string): Promise<boolean> {
      const scope = scopeOf(viewer);
      if (scope === null) return true;
      const [row] = await sql<{ labels: string[] }[]>`SELECT labels FROM endpoints WHERE id = ${endpointId} AND org_id = ${viewer.orgId}`;
      return row !== undefined && labelsInScope(scope, row.labels);
    },
    /** Ids of the endpoints the viewer sees (deleted ones too, for history); null: all of them. */
    async visibleIds(viewer: Viewer): Promise<string[] | null> {
      const scope = scopeOf(viewer);
      if (scope === null) return null;
      const rows = await sql<{ id: string }[]>`SELECT id FROM endpoints WHERE org_id = ${viewer.orgId} AND labels && ${scope}::text[]`;
      return rows.map((r) => r.id);
    },
    /** A scoped viewer's endpoint must keep one of its labels (else it would vanish from its view). */
    assertLabelsInScope(viewer: Viewer, labels: readonly string[] | null | undefined): void {
      const scope = scopeOf(viewer);
      if (scope === null) return;
      if (!labels || !labelsInScope(scope, labels)) {
        throw badInput(`labels must include one of this session's labels (${scope.map((l) => `"${l}"`).join(', ')}).`, 'labels');
      }
    },
  };
}
export type EndpointScope = ReturnType<typeof createEndpointScope>;
