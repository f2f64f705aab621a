import type { Sql, TransactionSql } from 'postgres';
import type { Database } from '../db/client.js';
import { createEventTypesRepo } from '../db/repos/eventTypes.js';
import { idPayloads, type WakeSender } from '../db/notifications.js';
import type { EventRow } from '../db/schema.js';
import { notFound } from '../domain/errors.js';
import { createPayloadValidationPool } from './payloadValidation/pool.js';
import { newId } from '../crypto/random.js';
import type { DeliveryJobs } from '../db/repos/deliveryJobs.js';
import { createEndpointFilters, type EndpointFilters } from './filters/endpointFilters.js';
import { fanOut } from './filters/fanOut.js';
import { formatTraceparent, parseTraceparent } from '../domain/traceContext.js';
import { CONTEXT_ONLY, type Tracing } from './tracing.js';
import { createTypeCheck, DEFAULT_MAX_BATCH_BYTES, prepareBatch, type PublishInput } from './publishBatch.js';
import { createCatalogCache, type OrgCatalog } from './publishCatalog.js';
import { deliveriesJson, eventsJson, keysJson, publishStatementSql } from './publishStatement.js';

// The publisher's input, defined with the batch preparation that reads it.
export type { PublishInput } from './publishBatch.js';

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

/** Publish statements tried before giving up on an organization whose catalog keeps changing. */
const MAX_STALE_ATTEMPTS = 5;
const DEFAULT_VALIDATION_BUDGET_MS = 1000;

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
  const publishSql = publishStatementSql(jobs);
  const { catalogFor } = createCatalogCache({ filters });
  const checkTypes = createTypeCheck({ eventTypesRepo, validation, validationBudgetMs });

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
      const events = prepareBatch(inputs, fieldPrefix, maxBatchBytes);
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
        const rows = await sql.unsafe<{ kind: 'event' | 'cancelled' | 'wake' | 'stale' | 'due'; id: string | null }[]>(
          publishSql,
          [orgId, createdAt.toISOString(), eventsJson(events, callTraceparent), deliveriesJson(deliveries), JSON.stringify(wakeInStatement), version, keysJson(events)],
          { prepare: true },
        );
        if (rows.some((r) => r.kind === 'stale')) return null;
        const inserted = new Set<string>();
        const cancelled = new Set<string>();
        let dueMs = 0;
        for (const r of rows) {
          if (r.kind === 'event') inserted.add(r.id!);
          else if (r.kind === 'cancelled') cancelled.add(r.id!);
          else if (r.kind === 'due') dueMs = Number(r.id);
        }
        const counts = new Map<string, number>();
        const woken = new Set<string>();
        for (const d of deliveries) {
          if (!inserted.has(d.event.id) || cancelled.has(d.id)) continue;
          counts.set(d.event.id, (counts.get(d.event.id) ?? 0) + 1);
          woken.add(d.endpointId);
        }
        if (!inTx) wake.send(woken, dueMs);

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
