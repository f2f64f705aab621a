import { inTransaction, type Database, type Db, type Tx } from '../db/client.js';
import { createEndpointsRepo } from '../db/repos/endpoints.js';
import { lockName, lockNames } from '../db/nameLocks.js';
import { exportDocument } from '../domain/configuration/document.js';
import {
  planConfiguration,
  settleEndpointUpdate,
  withinObject,
  type ConfigurationChange,
  type ConfigurationAction,
  type ConfigurationKind,
  type EndpointChange,
  type FieldChange,
  type Plan,
} from '../domain/configuration/plan.js';
import { InputProblemsError, orThrow, type InputProblem } from '../domain/errors.js';
import type { SigningAlgorithm } from '../domain/signing.js';
import type { SecretBox } from '../crypto/secretBox.js';
import type { Viewer } from './auth.js';
import { readConfigurationState, type StateRows } from './configurationState.js';
import type { EndpointService } from './endpoints.js';
import type { PreparedCreate, PreparedUpdate } from './endpointWrites.js';
import type { EventTypeService } from './eventTypes.js';
import type { SigningKeyService } from './signingKeys.js';

/** One line of the plan as the API returns it. */
export interface PlannedChange {
  kind: ConfigurationKind;
  key: string;
  action: ConfigurationAction;
  changedFields: string[];
  /** changedFields with their values before and after; secret ones are never shown. */
  fields: FieldChange[];
  /** The object's id (a created one's once applied; null in a dry run). */
  id: string | null;
  /** A new HMAC secret (an endpoint created, or rotated to HMAC), shown only in this answer. */
  secret: string | null;
}

export interface ConfigurationPlanResult {
  applied: boolean;
  dryRun: boolean;
  changes: PlannedChange[];
  unmanaged: { kind: ConfigurationKind; key: string }[];
}

type Prepared =
  | { change: ConfigurationChange & { kind: 'EVENT_TYPE' }; write: (tx: Tx) => Promise<{ id: string; secret: null }> }
  | { change: EndpointChange; write: (tx: Tx) => Promise<{ id: string; secret: string | null }> };

const CONFIGURATION_LOCK_CLASS = 7164051;
/** Rounds of "lock what changes, read again" before an apply gives up on a racing writer. */
const LOCK_ROUNDS = 3;

/**
 * Declarative configuration: compares a document with an organization's endpoints and custom event
 * types (domain/configuration), checks every change with the endpoint and event-type services'
 * own validation, and applies them in one transaction, all or nothing.
 */
export function createConfigurationService(deps: {
  database: Database;
  secretBox: SecretBox;
  endpoints: EndpointService;
  eventTypes: EventTypeService;
  signingKeys: SigningKeyService;
}) {
  const { database, secretBox, endpoints, eventTypes, signingKeys } = deps;
  const writes = endpoints.writes;

  interface Planned {
    plan: Plan;
    rows: StateRows;
    /** The document's problems found so far (the services' checks add theirs). */
    problems: InputProblem[];
  }

  function planOf(document: unknown, rows: StateRows, prune: boolean): Planned {
    const problems: InputProblem[] = [];
    return { plan: planConfiguration(document, rows.state, { prune }, problems), rows, problems };
  }

  /**
   * Locks the endpoints the plan changes, then reads and plans again: what was planned on rows
   * another writer changed meanwhile is planned again on the locked rows.
   */
  async function planLocked(tx: Tx, viewer: Viewer, document: unknown, prune: boolean): Promise<Planned> {
    const repo = createEndpointsRepo(tx.db);
    const locked = new Set<string>();
    for (let round = 0; ; round++) {
      const planned = planOf(document, await readConfigurationState(tx.db, viewer.orgId, secretBox, { lockEventTypes: true }), prune);
      const toLock = planned.plan.changes.flatMap((c) =>
        c.kind === 'ENDPOINT' && c.current && !locked.has(c.current.id) && c.action !== 'UNCHANGED' ? [c.current.id] : [],
      );
      // A document with problems is refused anyway: nothing to lock for.
      if (toLock.length === 0 || planned.problems.length > 0) return planned;
      if (round === LOCK_ROUNDS) throw new Error('endpoints kept changing while a configuration was being applied');
      await repo.lockIds(viewer.orgId, toLock, tx.db);
      toLock.forEach((id) => locked.add(id));
    }
  }

  /** Checks every change with the services' validation; the writes to make, or every problem. */
  async function prepare(viewer: Viewer, { plan, rows, problems }: Planned, db: Db): Promise<{ prepared: Prepared[]; settled: ConfigurationChange[] }> {
    const prepared: Prepared[] = [];
    const settled: ConfigurationChange[] = [];
    const options = { catalog: plan.catalog, db };
    for (const change of plan.changes) {
      const fail = (found: InputProblem[]) => problems.push(...withinObject(change.kind, change.key, found));
      if (change.action === 'UNCHANGED') {
        settled.push(change);
      } else if (change.kind === 'EVENT_TYPE') {
        const result =
          change.action === 'CREATE'
            ? await eventTypes.prepareCreate(viewer, change.input as { name: string }, { db })
            : await eventTypes.prepareUpdate(viewer, rows.eventTypes.get(change.current!.id)!, change.input, { db });
        if (!result.ok) fail(result.problems);
        else {
          const value = result.value;
          // A type created deprecated (as an export of a deprecated type reads).
          if (change.action === 'CREATE' && change.input.deprecated === true) Object.assign(value, { deprecated: true, deprecatedAt: new Date() });
          prepared.push({
            change,
            write: async (tx) =>
              change.action === 'CREATE'
                ? { id: (await eventTypes.insert(tx, viewer, value as Parameters<EventTypeService['insert']>[2])).id, secret: null }
                : { id: (await eventTypes.write(tx, viewer, change.current!.id, value)).id, secret: null },
          });
          settled.push(change);
        }
      } else if (change.action === 'CREATE') {
        const result = await writes.prepareCreate(viewer, change.input as unknown as Parameters<typeof writes.prepareCreate>[1], options);
        if (!result.ok) fail(result.problems);
        else {
          prepared.push({ change, write: (tx) => createEndpoint(tx, viewer, result.value) });
          settled.push(change);
        }
      } else if (change.action === 'DELETE') {
        prepared.push({ change, write: async (tx) => ({ id: await writes.remove(tx, viewer, rows.endpoints.get(change.current!.id)!), secret: null }) });
        settled.push(change);
      } else {
        const row = rows.endpoints.get(change.current!.id)!;
        let final = change;
        let update: PreparedUpdate | null = null;
        if (Object.keys(change.input).length > 0) {
          const first = await writes.prepareUpdate(viewer, row, change.input, options);
          if (!first.ok) {
            fail(first.problems);
            continue;
          }
          final = settleEndpointUpdate(change, { ...first.value.settings, ...(first.value.patterns ? { patterns: first.value.patterns } : {}) });
          if (Object.keys(final.input).length > 0) update = orThrow(await writes.prepareUpdate(viewer, row, final.input, options));
        }
        settled.push(final);
        if (final.action === 'UNCHANGED') continue;
        prepared.push({ change: final, write: (tx) => updateEndpoint(tx, viewer, row.id, update, final.rotateTo) });
      }
    }
    if (problems.length > 0) throw new InputProblemsError(problems);
    return { prepared, settled };
  }

  async function createEndpoint(tx: Tx, viewer: Viewer, prepared: PreparedCreate) {
    const created = await writes.create(tx, viewer, prepared);
    return { id: created.endpoint.id, secret: created.secret };
  }

  async function updateEndpoint(tx: Tx, viewer: Viewer, id: string, update: PreparedUpdate | null, rotateTo: SigningAlgorithm | null) {
    let row = update ? await writes.update(tx, viewer, id, update) : null;
    let secret: string | null = null;
    if (rotateTo) {
      row ??= (await createEndpointsRepo(tx.db).findForOrg(viewer.orgId, id, tx.db))!;
      secret = (await signingKeys.rotateLocked(tx, viewer, row, rotateTo)).secret;
    }
    return { id, secret };
  }

  /** Names the writes will claim, locked up front and in order (see lockNames). */
  function namesOf(prepared: Prepared[]): string[] {
    return prepared.flatMap(({ change }) => {
      if (change.action === 'DELETE') return [];
      if (change.kind === 'ENDPOINT') return change.action === 'CREATE' ? [lockName.endpointUid(change.key)] : [];
      const uid = change.input.uid;
      return [...(change.action === 'CREATE' ? [lockName.eventTypeName(change.key)] : []), ...(typeof uid === 'string' && uid ? [lockName.eventTypeUid(uid)] : [])];
    });
  }

  const line = (change: ConfigurationChange, written?: { id: string; secret: string | null }): PlannedChange => ({
    kind: change.kind,
    key: change.key,
    action: change.action,
    changedFields: change.changedFields,
    fields: change.fields,
    id: written?.id ?? change.current?.id ?? null,
    secret: written?.secret ?? null,
  });

  return {
    /**
     * The plan of `document`; without `dryRun`, applied in one transaction (all or nothing).
     * Every problem of the document is reported at once, each with its path.
     */
    async apply(viewer: Viewer, document: unknown, options: { dryRun: boolean; prune: boolean }): Promise<ConfigurationPlanResult> {
      if (options.dryRun) {
        const planned = planOf(document, await readConfigurationState(database.db, viewer.orgId, secretBox, { lockEventTypes: false }), options.prune);
        const { settled } = await prepare(viewer, planned, database.db);
        return { applied: false, dryRun: true, changes: settled.map((c) => line(c)), unmanaged: planned.plan.unmanaged };
      }
      return inTransaction(database, async (tx) => {
        // One apply at a time per organization: two would each plan against the other's past.
        await tx.sql`SELECT pg_advisory_xact_lock(${CONFIGURATION_LOCK_CLASS}, hashtext(${viewer.orgId}))`;
        const planned = await planLocked(tx, viewer, document, options.prune);
        const { prepared, settled } = await prepare(viewer, planned, tx.db);
        await lockNames(tx.sql, viewer.orgId, namesOf(prepared));
        const written = new Map<ConfigurationChange, { id: string; secret: string | null }>();
        for (const item of prepared) written.set(item.change, await item.write(tx));
        return { applied: true, dryRun: false, changes: settled.map((c) => line(c, written.get(c))), unmanaged: planned.plan.unmanaged };
      });
    },

    /** The organization's configuration as a document that applies as a no-op and holds no secret. */
    async export(viewer: Viewer): Promise<Record<string, unknown>> {
      const rows = await readConfigurationState(database.db, viewer.orgId, secretBox, { lockEventTypes: false });
      return exportDocument(rows.state);
    },
  };
}
export type ConfigurationService = ReturnType<typeof createConfigurationService>;
