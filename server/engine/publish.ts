import type { Sql, TransactionSql } from 'postgres';
import type { Database } from '../db/client.js';
import { createEventTypesRepo } from '../db/repos/eventTypes.js';
import { CHANNELS, idPayloads, type WakeSender } from '../db/notifications.js';
import type { EventRow, EventTypeRow } from '../db/schema.js';
import { assertNoProblems, badInput, DomainError, notFound, type InputProblem } from '../domain/errors.js';
import { closestNames, compileMatcher } from '../domain/eventPatterns.js';
import { createPayloadValidationPool } from './payloadValidation/pool.js';
import { newId } from '../crypto/random.js';
import { timeOrderedUuid } from '../crypto/uuid.js';
import type { DeliveryJobs } from '../db/repos/deliveryJobs.js';
import { deliveryQueueOf } from '../db/queues.js';
import { createEndpointFilters, type EndpointFilters, type EventAcceptor } from './filters/endpointFilters.js';
import { fanOut } from './filters/fanOut.js';
import { formatTraceparent, parseTraceparent } from '../domain/traceContext.js';
import { CONTEXT_ONLY, type Tracing } from './tracing.js';

export interface PublishInput {
  type: string;
  data?: unknown;
  /** Idempotency key: the same eventId in the same organization returns the first event. */
  eventId?: string | null;
  /** The logical resource (e.g. a pipeline run id) whose events must not overtake each other. */
  orderingKey?: string | null;
  /** W3C traceparent of this event (wins over the call's): its deliveries continue that trace. */
  traceparent?: string | null;
  /**
   * Not for callers of the API: an operational event about an endpoint is never delivered to
   * that endpoint (see systemEvents.ts).
   */
  excludeEndpointId?: string;
}

/** About the publish call as a whole. */
export interface PublishCallOptions {
  /** The request's `traceparent` header: the parent of the publish, for events without their own. Ignored when invalid (W3C: restart the trace). */
  traceparent?: string | null;
}

export interface PublishOutcome {
  event: EventRow;
  duplicate: boolean;
  deliveryCount: number;
}

export const MAX_BATCH = 1000;
/** Organizations whose publish lookup a process keeps (each a few KiB). */
const MAX_CACHED_CATALOGS = 10_000;
/** Publish statements tried before giving up on an organization whose catalog keeps changing. */
const MAX_STALE_ATTEMPTS = 5;
export const MAX_PAYLOAD_BYTES = 256 * 1024;
export const DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024;
const DEFAULT_VALIDATION_BUDGET_MS = 1000;
const MAX_KEY_LENGTH = 255;
/** Version 00 is 55 characters; later versions may append fields. */
const MAX_TRACEPARENT_LENGTH = 512;

/** What publishing needs of a catalog entry. */
type CatalogType = Pick<EventTypeRow, 'id' | 'name' | 'schema' | 'deprecated' | 'deprecatedAt'>;

/** An organization's publish lookup as of `version` (organizations.catalog_version). */
interface OrgCatalog {
  version: number;
  /** Event types by name; null: no such type (as of `version`). */
  types: Map<string, CatalogType | null>;
  /** Active endpoints, what they subscribe to and their content filter (absent: none). */
  endpoints: { id: string; matches: (type: string) => boolean; accepts?: EventAcceptor }[];
}

interface PreparedEvent {
  index: number;
  id: string;
  /** The time in `id`: its deliveries' ids carry it too, so they share its day partition. */
  idMs: number;
  type: string;
  dataJson: string;
  data: Record<string, unknown>;
  eventId: string | null;
  orderingKey: string | null;
  excludeEndpointId: string | null;
  /** The event's own traceparent (normalised), or null: it then takes the call's. */
  traceparent: string | null;
}

/**
 * Publishing: validate against the catalog and schemas, then write the events, one delivery per
 * matching active endpoint and their jobs in one transaction, so a publish that returns is
 * durable and a publish that fails leaves nothing behind.
 */
export function createPublisher(deps: {
  database: Database;
  jobs: DeliveryJobs;
  wake: WakeSender;
  filters?: EndpointFilters;
  tracing?: Tracing;
  /** Time schema validation (in a worker thread) may take in one publish (default 1 s); past it the publish is refused. */
  validationBudgetMs?: number;
  /** Payload bytes of one batch, all events together (default 16 MiB). */
  maxBatchBytes?: number;
}) {
  const { database, jobs, wake } = deps;
  // The engine passes its own (to flush filter errors at stop); a one-off publisher gets one.
  const filters = deps.filters ?? createEndpointFilters({ sql: database.sql });
  const tracing = deps.tracing ?? CONTEXT_ONLY;
  const validationBudgetMs = deps.validationBudgetMs ?? DEFAULT_VALIDATION_BUDGET_MS;
  const validation = createPayloadValidationPool({ budgetMs: validationBudgetMs });
  const maxBatchBytes = deps.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const eventTypesRepo = createEventTypesRepo(database.db);
  const publishSql = `
    WITH catalog_unchanged AS (
      -- The lookup this publish was planned with is still what the organization has (its
      -- endpoints, their subscriptions, the event types): otherwise nothing is written.
      SELECT 1 FROM organizations WHERE id = $1 AND catalog_version = $6::bigint
    ), keyed AS (
      -- eventId idempotency: the first event to claim a key in the organization gets it; the
      -- others are duplicates (a concurrent claim waits for the first one's commit). In key order,
      -- so two batches claiming the same keys cannot deadlock.
      INSERT INTO event_idempotency_keys (org_id, idempotency_key, event_id)
      SELECT $1, k.k, k.i FROM jsonb_to_recordset($7::text::jsonb) AS k(i text, k text)
      WHERE EXISTS (SELECT 1 FROM catalog_unchanged)
      ORDER BY k.k
      ON CONFLICT (org_id, idempotency_key) DO NOTHING
      RETURNING event_id
    ), written AS (
      INSERT INTO events (id, org_id, type, data, idempotency_key, ordering_key, created_at, traceparent)
      SELECT x.id, $1, x.type, x.data, x.ikey, x.okey, $2::timestamptz, x.tp
      FROM jsonb_to_recordset($3::text::jsonb) AS x(id text, type text, data jsonb, ikey text, okey text, tp text)
      WHERE EXISTS (SELECT 1 FROM catalog_unchanged) AND (x.ikey IS NULL OR x.id IN (SELECT event_id FROM keyed))
      RETURNING id, type, ordering_key
    ), planned AS (
      -- An endpoint deleted since the lookup (a moment ago) gets its delivery written CANCELLED
      -- and no job, so nothing is half-written. The organization in the join keeps the lookup to
      -- its own endpoints: on id alone the planner hashed every live endpoint of every
      -- organization through endpoints_org_idx (publish p50 3 → 38 ms from 10 to 100,000 endpoints).
      SELECT c.i AS id, c.e AS event_id, c.p AS endpoint_id, c.j AS job_id, w.type, w.ordering_key,
             CASE WHEN ep.id IS NOT NULL THEN c.q END AS queue, c.n
      FROM jsonb_to_recordset($4::text::jsonb) AS c(i text, e text, p text, j uuid, q text, n int)
      JOIN written w ON w.id = c.e
      LEFT JOIN endpoints ep ON ep.org_id = $1 AND ep.id = c.p AND ep.deleted_at IS NULL
    ), delivery_rows AS (
      INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, ordering_key, created_at, status, completed_at)
      SELECT id, $1, event_id, endpoint_id, type, ordering_key, $2::timestamptz,
             (CASE WHEN queue IS NULL THEN 'CANCELLED' ELSE 'PENDING' END)::delivery_status,
             CASE WHEN queue IS NULL THEN now() END
      FROM planned
      -- In publish order: seq (the per-endpoint publish order STRICT relies on) is given as rows come.
      ORDER BY n
    ), job_rows AS (
      ${jobs.insertJobsSql(`(SELECT job_id AS id, queue AS name, jsonb_build_object('d', id, 'e', event_id, 'p', endpoint_id, 'a', 0) AS data,
                NULL::timestamptz AS at FROM planned WHERE queue IS NOT NULL) AS x`)}
    ), woken AS (
      -- Only inside a caller's transaction (its commit is not ours to follow): see WakeSender.
      SELECT pg_notify('${CHANNELS.wake}', p) FROM jsonb_array_elements_text($5::text::jsonb) AS p WHERE EXISTS (SELECT 1 FROM planned)
    )
    SELECT 'event' AS kind, id FROM written
    UNION ALL SELECT 'cancelled', id FROM planned WHERE queue IS NULL
    UNION ALL SELECT 'wake', NULL FROM woken
    UNION ALL SELECT 'stale', NULL WHERE NOT EXISTS (SELECT 1 FROM catalog_unchanged)`;
  function prepare(inputs: PublishInput[], fieldPrefix: (i: number) => string): PreparedEvent[] {
    if (inputs.length === 0) throw badInput('Nothing to publish: "inputs" is empty.', 'inputs');
    if (inputs.length > MAX_BATCH) {
      throw badInput(`A batch holds at most ${MAX_BATCH} events (got ${inputs.length}); split it.`, 'inputs');
    }
    const problems: InputProblem[] = [];
    const seenEventIds = new Map<string, number>();
    const prepared: PreparedEvent[] = [];
    let batchBytes = 0;
    inputs.forEach((input, index) => {
      const at = fieldPrefix(index);
      const data = input.data;
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        problems.push({ field: `${at}data`, message: `${at}data must be a JSON object (got ${Array.isArray(data) ? 'an array' : data === null ? 'null' : typeof data}).` });
        return;
      }
      let dataJson: string;
      try {
        dataJson = JSON.stringify(data);
      } catch {
        // JSON.stringify recurses: a payload nested a few thousand levels deep overflows the stack.
        problems.push({ field: `${at}data`, message: `${at}data is nested too deeply; flatten it (a few hundred levels at most).` });
        return;
      }
      const size = Buffer.byteLength(dataJson);
      if (size > MAX_PAYLOAD_BYTES) {
        throw new DomainError(
          'PAYLOAD_TOO_LARGE',
          `${at}data is ${size} bytes; the limit is ${MAX_PAYLOAD_BYTES} bytes (256 KiB). Send a reference to large content instead.`,
          `${at}data`,
        );
      }
      batchBytes += size;
      if (batchBytes > maxBatchBytes) {
        throw new DomainError(
          'PAYLOAD_TOO_LARGE',
          `The payloads of this batch add up to more than ${maxBatchBytes} bytes (passed at ${at}data); send fewer or smaller events per publishEvents call.`,
          'inputs',
        );
      }
      const eventId = input.eventId ?? null;
      if (eventId !== null) {
        if (eventId.length < 1 || eventId.length > MAX_KEY_LENGTH || /[\u0000-\u001f]/.test(eventId)) {
          problems.push({ field: `${at}eventId`, message: `${at}eventId must be 1 to ${MAX_KEY_LENGTH} printable characters.` });
        } else if (seenEventIds.has(eventId)) {
          problems.push({
            field: `${at}eventId`,
            message: `${at}eventId "${eventId}" appears twice in this batch (also at index ${seenEventIds.get(eventId)}); each event needs its own id.`,
          });
        } else {
          seenEventIds.set(eventId, index);
        }
      }
      const orderingKey = input.orderingKey ?? null;
      if (orderingKey !== null && (orderingKey.length < 1 || orderingKey.length > MAX_KEY_LENGTH)) {
        problems.push({ field: `${at}orderingKey`, message: `${at}orderingKey must be 1 to ${MAX_KEY_LENGTH} characters.` });
      }
      let traceparent: string | null = null;
      if (input.traceparent !== undefined && input.traceparent !== null) {
        const context = input.traceparent.length <= MAX_TRACEPARENT_LENGTH ? parseTraceparent(input.traceparent) : null;
        if (context) traceparent = formatTraceparent(context);
        else {
          problems.push({
            field: `${at}traceparent`,
            message: `${at}traceparent must be a W3C traceparent such as "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" (version-traceid-parentid-flags, lowercase hex, ids not all zero).`,
          });
        }
      }
      const idMs = Date.now();
      prepared.push({
        index,
        id: newId('event', idMs),
        idMs,
        type: input.type,
        dataJson,
        data: data as Record<string, unknown>,
        eventId,
        orderingKey,
        excludeEndpointId: input.excludeEndpointId ?? null,
        traceparent,
      });
    });
    assertNoProblems(problems);
    return prepared;
  }

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

  async function checkTypes(orgId: string, events: PreparedEvent[], byName: Map<string, CatalogType | null>, fieldPrefix: (i: number) => string): Promise<void> {
    // An org's own type never shares a name with a built-in one (rejected at creation).
    const problems: InputProblem[] = [];
    let catalog: string[] | null = null;
    const toValidate: { event: PreparedEvent; type: CatalogType }[] = [];
    for (const event of events) {
      const at = fieldPrefix(event.index);
      const type = byName.get(event.type);
      if (!type) {
        catalog ??= (await eventTypesRepo.listForOrg(orgId)).filter((t) => !t.deprecated).map((t) => t.name);
        const close = closestNames(event.type, catalog, 3);
        problems.push({
          field: `${at}type`,
          message: `${at}type "${event.type}" is not in the event-type catalog.${close.length ? ` Did you mean ${close.map((c) => `"${c}"`).join(', ')}?` : ''}`,
        });
        continue;
      }
      if (type.deprecated) {
        problems.push({
          field: `${at}type`,
          message: `${at}type "${event.type}" is deprecated${type.deprecatedAt ? ` since ${type.deprecatedAt.toISOString()}` : ''} and no longer accepts events.`,
        });
        continue;
      }
      if (type.schema) toValidate.push({ event, type });
    }
    if (toValidate.length > 0) {
      // Off the event loop, within the publish's time budget (payloadValidation/pool.ts).
      const schemas = new Map(toValidate.map(({ type }) => [type.id, type.schema]));
      const results = await validation.validate({ schemas: [...schemas], items: toValidate.map(({ event, type }) => ({ typeId: type.id, dataJson: event.dataJson })) });
      if (results === 'budget') {
        throw badInput(
          `Checking the payloads of this batch against their event types' JSON Schemas took over ${validationBudgetMs} ms; send fewer events per call, smaller payloads, or simplify the schema.`,
          'inputs',
        );
      }
      results.forEach((problem, i) => {
        if (!problem) return;
        const at = fieldPrefix(toValidate[i]!.event.index);
        problems.push({ field: `${at}data`, message: `${at}${problem}` });
      });
      problems.sort((a, b) => a.field.localeCompare(b.field, undefined, { numeric: true }));
    }
    assertNoProblems(problems);
  }

  return {
    /** Ends the validation thread (engine stop). */
    close: () => validation.close(),
    /**
     * Publishes a batch for `orgId`. `fieldPrefix` names an input in messages (e.g. `inputs[3].`).
     * Outcomes come back in input order.
     */
    async publish(
      orgId: string,
      inputs: PublishInput[],
      fieldPrefix: (i: number) => string = () => '',
      /** Publish inside this transaction (e.g. with the row that caused the event). */
      inTx?: TransactionSql,
      options: PublishCallOptions = {},
    ): Promise<PublishOutcome[]> {
      const events = prepare(inputs, fieldPrefix);
      const names = [...new Set(events.map((e) => e.type))];
      const createdAt = new Date();
      // The call's trace: the publish span's when spans are exported (a child of the caller's
      // context, or a new trace), else the caller's own, if valid.
      const callerContext = options.traceparent ? parseTraceparent(options.traceparent) : null;
      const callerTraceparent = callerContext ? formatTraceparent(callerContext) : null;
      const span = tracing.startPublish(callerTraceparent, {
        orgId,
        events: events.length,
        eventId: events.length === 1 ? events[0]!.id : null,
        types: names,
      });
      const callTraceparent = span?.traceparent ?? callerTraceparent;

      /** The outcomes, or null when the catalog changed since `catalog` was read (nothing written). */
      const write = async (sql: Sql | TransactionSql, { version, endpoints }: OrgCatalog): Promise<PublishOutcome[] | null> => {
        // Every delivery the batch may need, made up front: which events are written (and not
        // idempotent repeats) is only known inside the statement, which keeps the rest.
        // A delivery's id carries its event's time: they share the event's day partition.
        const deliveries = (await fanOut(events, endpoints, createdAt.getTime())).map(({ event, endpointId }) => ({ id: newId('delivery', event.idMs), event, endpointId }));
        // One statement, so one round trip and (outside a caller's transaction) atomic by itself:
        // the events, their deliveries, a job per delivery whose endpoint queue exists (deleted
        // meanwhile: the delivery is written CANCELLED) and, in a caller's transaction, the
        // wake-up of the workers (at its commit). Otherwise the wake-up follows our commit.
        const wakeInStatement = inTx ? idPayloads(new Set(deliveries.map((d) => d.endpointId))) : [];
        const keysJson = JSON.stringify(events.filter((e) => e.eventId !== null).map((e) => ({ i: e.id, k: e.eventId })));
        const rows = await sql.unsafe<{ kind: 'event' | 'cancelled' | 'wake' | 'stale'; id: string | null }[]>(
          publishSql,
          [orgId, createdAt.toISOString(), eventsJson(events, callTraceparent), deliveriesJson(deliveries), JSON.stringify(wakeInStatement), version, keysJson],
          { prepare: true },
        );
        if (rows.some((r) => r.kind === 'stale')) return null;
        const inserted = new Set<string>();
        const cancelled = new Set<string>();
        for (const r of rows) {
          if (r.kind === 'event') inserted.add(r.id!);
          else if (r.kind === 'cancelled') cancelled.add(r.id!);
        }
        const counts = new Map<string, number>();
        const woken = new Set<string>();
        for (const d of deliveries) {
          if (!inserted.has(d.event.id) || cancelled.has(d.id)) continue;
          counts.set(d.event.id, (counts.get(d.event.id) ?? 0) + 1);
          woken.add(d.endpointId);
        }
        if (!inTx) wake.send(woken);

        // Events whose eventId was already used: answer with the first event, create nothing.
        const existing = new Map<string, EventRow>();
        const duplicates = events.filter((e) => e.eventId !== null && !inserted.has(e.id));
        if (duplicates.length > 0) {
          // The keys, then their events by id: a statement naming the event ids reads only their
          // partitions (a join from the keys would plan every partition of events).
          const keys = await sql<{ event_id: string }[]>`
            SELECT event_id FROM event_idempotency_keys WHERE org_id = ${orgId} AND idempotency_key = ANY(${duplicates.map((e) => e.eventId!)}::text[])`;
          // Not prepared: always planned for these ids (only their partitions), never generic.
          const rows = await sql.unsafe<EventRow[]>(
            `SELECT id, org_id AS "orgId", type, data, idempotency_key AS "idempotencyKey", ordering_key AS "orderingKey",
                    created_at AS "createdAt", payload_purged_at AS "payloadPurgedAt", traceparent
             FROM events WHERE org_id = $1 AND id = ANY($2::text[])`,
            [orgId, keys.map((k) => k.event_id)] as never[],
            { prepare: false },
          );
          for (const row of rows) existing.set(row.idempotencyKey!, row);
        }

        return events.map((event): PublishOutcome => {
          if (!inserted.has(event.id)) {
            const first = existing.get(event.eventId!);
            if (!first) throw new Error(`idempotency conflict on ${event.eventId} without a stored event`);
            return { event: first, duplicate: true, deliveryCount: 0 };
          }
          return {
            event: {
              id: event.id,
              orgId,
              type: event.type,
              data: event.data,
              idempotencyKey: event.eventId,
              orderingKey: event.orderingKey,
              createdAt,
              payloadPurgedAt: null,
              traceparent: event.traceparent ?? callTraceparent,
            },
            duplicate: false,
            deliveryCount: counts.get(event.id) ?? 0,
          };
        });
      };
      const sql = inTx ?? database.sql;
      let fresh = false;
      try {
        const outcomes = await attempts();
        span?.end({ deliveries: outcomes.reduce((n, o) => n + o.deliveryCount, 0) });
        return outcomes;
      } catch (err) {
        span?.end({ error: err });
        throw err;
      }

      async function attempts(): Promise<PublishOutcome[]> {
        for (let attempt = 1; ; attempt++) {
          const { catalog, cached } = await catalogFor(sql, orgId, names, fresh, inTx !== undefined);
          if (catalog.version === -1) throw notFound('organization', orgId);
          // From here on, the catalog is read again: it changed under this attempt, or a type the
          // cache says is unknown or deprecated may not be any more.
          fresh = true;
          try {
            await checkTypes(orgId, events, catalog.types, fieldPrefix);
          } catch (err) {
            if (cached) continue;
            throw err;
          }
          const outcomes = await write(sql, catalog);
          if (outcomes) return outcomes;
          if (attempt === MAX_STALE_ATTEMPTS) {
            throw new Error(`the event catalog of ${orgId} changed during each of ${MAX_STALE_ATTEMPTS} publish attempts`);
          }
        }
      }
    },
  };
}
export type Publisher = ReturnType<typeof createPublisher>;

/**
 * Deliveries as JSON: id, event, endpoint, its job's id (time-ordered) and queue (the endpoint's
 * shard), and its place in publish order.
 */
function deliveriesJson(deliveries: { id: string; event: PreparedEvent; endpointId: string }[]): string {
  return JSON.stringify(deliveries.map((d, n) => ({ i: d.id, e: d.event.id, p: d.endpointId, j: timeOrderedUuid(), q: deliveryQueueOf(d.endpointId), n })));
}

/**
 * The batch as one JSON document, the payloads spliced in as the JSON text already validated:
 * no second serialisation, and no per-quote escaping of a text array by postgres.js (which for
 * 1,000 1 KiB payloads cost more than the insert itself).
 */
function eventsJson(events: PreparedEvent[], callTraceparent: string | null): string {
  const rows: string[] = [];
  for (const e of events) {
    rows.push(
      `{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"data":${e.dataJson},"ikey":${JSON.stringify(e.eventId)},"okey":${JSON.stringify(e.orderingKey)},"tp":${JSON.stringify(e.traceparent ?? callTraceparent)}}`,
    );
  }
  return `[${rows.join(',')}]`;
}
