import type { Db } from '../db/client.js';
import { createEndpointsRepo } from '../db/repos/endpoints.js';
import type { EndpointRow } from '../db/schema.js';
import { parseRef } from '../domain/clientIds.js';
import { notFoundRef } from '../domain/errors.js';
import { isIdOf } from '../domain/ids.js';
import type { Viewer } from './auth.js';
import type { EndpointScope } from './endpointScope.js';

/**
 * Endpoint arguments: every one accepts the endpoint's id or its client uid (one argument, either
 * form; a uid can never look like an id). Another organization's endpoint, a deleted one, an
 * unknown uid, or (given `scope`) one outside a portal session's labels is NOT_FOUND.
 */
export function createEndpointRefs(db: Db, scope?: EndpointScope) {
  const repo = createEndpointsRepo(db);
  const visible = (viewer: Viewer, idOrUid: string, endpoint: EndpointRow | null): EndpointRow => {
    if (!endpoint || (scope && !scope.sees(viewer, endpoint))) throw notFoundRef('endpoint', idOrUid);
    return endpoint;
  };
  return {
    /** The live endpoint named by `idOrUid`. */
    async find(viewer: Viewer, idOrUid: string, tx?: Db): Promise<EndpointRow> {
      return visible(viewer, idOrUid, await repo.findByRef(viewer.orgId, parseRef('endpoint', idOrUid), tx));
    },
    /** Like find, and locks the row for the rest of `tx`. */
    async lock(viewer: Viewer, idOrUid: string, tx: Db): Promise<EndpointRow> {
      return visible(viewer, idOrUid, await repo.lockByRef(viewer.orgId, parseRef('endpoint', idOrUid), tx));
    },
    /**
     * An endpoint id for a history filter (deliveries, replays): an id is used as given, since a
     * deleted endpoint's history stays readable by its id (another organization's id matches
     * nothing); a uid names a live endpoint of the organization or is NOT_FOUND.
     */
    async filterId(viewer: Viewer, idOrUid: string | null | undefined): Promise<string | null> {
      if (idOrUid == null) return null;
      if (isIdOf('endpoint', idOrUid)) {
        if (scope && !(await scope.seesId(viewer, idOrUid))) throw notFoundRef('endpoint', idOrUid);
        return idOrUid;
      }
      return visible(viewer, idOrUid, await repo.findByRef(viewer.orgId, parseRef('endpoint', idOrUid))).id;
    },
  };
}
export type EndpointRefs = ReturnType<typeof createEndpointRefs>;
