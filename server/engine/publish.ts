import type { Sql, TransactionSql } from 'postgres';
import type { Database } from '../db/client.js';
import { createEventTypesRepo } from '../db/repos/eventTypes.js';
import { CHANNELS, notifyIds } from '../db/notifications.js';
import type { EventRow, EventTypeRow } from '../db/schema.js';
import { assertNoProblems, badInput, DomainError, type InputProblem } from '../domain/errors.js';
import { closestNames, compileMatcher } from '../domain/eventPatterns.js';
import { compilePayloadSchema, type PayloadValidator } from '../domain/payloadSchema.js';
import { newId } from '../crypto/random.js';
import type { JobQueue } from './jobQueue.js';

export interface PublishInput {
  type: string;
  data?: unknown;
  /** Idempotency key: the same eventId in the same organization returns the first event. */
  eventId?: string | null;
  /** The logical resource (e.g. a pipeline run id) whose events must not overtake each other. */
  orderingKey?: string | null;
}

export interface PublishOutcome {
  event: EventRow;
  duplicate: boolean;
  deliveryCount: number;
}

export const MAX_BATCH = 1000;
export const MAX_PAYLOAD_BYTES = 256 * 1024;
const MAX_KEY_LENGTH = 255;

interface PreparedEvent {
  index: number;
  id: string;
  type: string;
  dataJson: string;
  data: Record<string, unknown>;
  eventId: string | null;
  orderingKey: string | null;
}

/**
 * Publishing: validate against the catalog and schemas, then write the events, one delivery per
 * matching active endpoint and their jobs in one transaction, so a publish that returns is
 * durable and a publish that fails leaves nothing behind.
 */
export function createPublisher(deps: { database: Database; jobQueue: JobQueue }) {
  const { database, jobQueue } = deps;
  const eventTypesRepo = createEventTypesRepo(database.db);
  // Schemas of custom types never change after creation, so validators are cached by type id.
  const validators = new Map<string, PayloadValidator>();

  function validatorFor(type: EventTypeRow): PayloadValidator | null {
    if (!type.schema) return null;
    let validator = validators.get(type.id);
    if (validator === undefined) {
      const compiled = compilePayloadSchema(type.schema);
      // Schemas are checked when the type is created; one that no longer compiles is a bug, and
      // publishing unvalidated payloads would hide it.
      if (!compiled.ok) throw new Error(`stored JSON Schema of event type ${type.name} does not compile: ${compiled.error}`);
      validator = compiled.validate;
      validators.set(type.id, validator);
    }
    return validator;
  }

  function prepare(inputs: PublishInput[], fieldPrefix: (i: number) => string): PreparedEvent[] {
    if (inputs.length === 0) throw badInput('Nothing to publish: "inputs" is empty.', 'inputs');
    if (inputs.length > MAX_BATCH) {
      throw badInput(`A batch holds at most ${MAX_BATCH} events (got ${inputs.length}); split it.`, 'inputs');
    }
    const problems: InputProblem[] = [];
    const seenEventIds = new Map<string, number>();
    const prepared: PreparedEvent[] = [];
    inputs.forEach((input, index) => {
      const at = fieldPrefix(index);
      const data = input.data;
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        problems.push({ field: `${at}data`, message: `${at}data must be a JSON object (got ${Array.isArray(data) ? 'an array' : data === null ? 'null' : typeof data}).` });
        return;
      }
      const dataJson = JSON.stringify(data);
      const size = Buffer.byteLength(dataJson);
      if (size > MAX_PAYLOAD_BYTES) {
        throw new DomainError(
          'PAYLOAD_TOO_LARGE',
          `${at}data is ${size} bytes; the limit is ${MAX_PAYLOAD_BYTES} bytes (256 KiB). Send a reference to large content instead.`,
          `${at}data`,
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
      prepared.push({ index, id: newId('event'), type: input.type, dataJson, data: data as Record<string, unknown>, eventId, orderingKey });
    });
    assertNoProblems(problems);
    return prepared;
  }

  async function checkTypes(orgId: string, events: PreparedEvent[], fieldPrefix: (i: number) => string): Promise<void> {
    const names = [...new Set(events.map((e) => e.type))];
    const rows = await eventTypesRepo.findByNames(orgId, names);
    // An org's own type never shares a name with a built-in one (rejected at creation).
    const byName = new Map(rows.map((r) => [r.name, r]));
    const problems: InputProblem[] = [];
    let catalog: string[] | null = null;
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
      const problem = validatorFor(type)?.(event.data);
      if (problem) problems.push({ field: `${at}data`, message: `${at}${problem}` });
    }
    assertNoProblems(problems);
  }

  async function matchingEndpoints(sql: Sql | TransactionSql, orgId: string) {
    const rows = await sql<{ id: string; patterns: string[] }[]>`
      SELECT e.id, array_agg(s.pattern) AS patterns
      FROM endpoints e JOIN event_subscriptions s ON s.endpoint_id = e.id
      WHERE e.org_id = ${orgId} AND e.active AND e.deleted_at IS NULL
      GROUP BY e.id ORDER BY e.id`;
    return rows.map((r) => ({ id: r.id, matches: compileMatcher(r.patterns) }));
  }

  return {
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
    ): Promise<PublishOutcome[]> {
      const events = prepare(inputs, fieldPrefix);
      await checkTypes(orgId, events, fieldPrefix);
      const endpoints = await matchingEndpoints(inTx ?? database.sql, orgId);
      const createdAt = new Date();

      const write = async (sql: TransactionSql) => {
        const withKeys = events.filter((e) => e.eventId !== null);
        const inserted = new Set(
          (
            await sql<{ id: string }[]>`
              INSERT INTO events (id, org_id, type, data, idempotency_key, ordering_key, created_at)
              SELECT x.id, ${orgId}, x.type, x.data::jsonb, x.ikey, x.okey, ${createdAt}
              FROM unnest(${events.map((e) => e.id)}::text[], ${events.map((e) => e.type)}::text[],
                          ${events.map((e) => e.dataJson)}::text[], ${events.map((e) => e.eventId) as string[]}::text[],
                          ${events.map((e) => e.orderingKey) as string[]}::text[]) AS x(id, type, data, ikey, okey)
              ON CONFLICT (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
              RETURNING id`
          ).map((r) => r.id),
        );

        // Events whose eventId was already used: answer with the first event, create nothing.
        const existing = new Map<string, EventRow>();
        const duplicates = withKeys.filter((e) => !inserted.has(e.id));
        if (duplicates.length > 0) {
          const rows = await sql<EventRow[]>`
            SELECT id, org_id AS "orgId", type, data, idempotency_key AS "idempotencyKey", ordering_key AS "orderingKey",
                   created_at AS "createdAt", payload_purged_at AS "payloadPurgedAt"
            FROM events WHERE org_id = ${orgId} AND idempotency_key = ANY(${duplicates.map((e) => e.eventId!)}::text[])`;
          for (const row of rows) existing.set(row.idempotencyKey!, row);
        }

        const deliveryIds: string[] = [];
        const deliveryEvents: PreparedEvent[] = [];
        const deliveryEndpoints: string[] = [];
        const counts = new Map<string, number>();
        for (const event of events) {
          if (!inserted.has(event.id)) continue;
          for (const endpoint of endpoints) {
            if (!endpoint.matches(event.type)) continue;
            deliveryIds.push(newId('delivery'));
            deliveryEvents.push(event);
            deliveryEndpoints.push(endpoint.id);
            counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
          }
        }

        if (deliveryIds.length > 0) {
          await sql`
            INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, ordering_key, created_at)
            SELECT x.id, ${orgId}, x.eid, x.epid, x.type, x.okey, ${createdAt}
            FROM unnest(${deliveryIds}::text[], ${deliveryEvents.map((e) => e.id)}::text[], ${deliveryEndpoints}::text[],
                        ${deliveryEvents.map((e) => e.type)}::text[], ${deliveryEvents.map((e) => e.orderingKey) as string[]}::text[])
                 AS x(id, eid, epid, type, okey)`;
          const enqueued = await jobQueue.enqueue(
            sql,
            deliveryIds.map((id, i) => ({ endpointId: deliveryEndpoints[i]!, deliveryId: id, eventId: deliveryEvents[i]!.id })),
          );
          if (enqueued.size < deliveryIds.length) {
            // The endpoint was deleted between matching and now: its queue is gone.
            const orphaned = deliveryIds.filter((id) => !enqueued.has(id));
            await sql`UPDATE deliveries SET status = 'CANCELLED', completed_at = now() WHERE id = ANY(${orphaned}::text[])`;
            for (const id of orphaned) {
              const eventId = deliveryEvents[deliveryIds.indexOf(id)]!.id;
              counts.set(eventId, (counts.get(eventId) ?? 1) - 1);
            }
          }
          await notifyIds(sql, CHANNELS.wake, new Set(deliveryEndpoints));
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
            },
            duplicate: false,
            deliveryCount: counts.get(event.id) ?? 0,
          };
        });
      };
      return inTx ? write(inTx) : ((await database.sql.begin(write)) as PublishOutcome[]);
    },
  };
}
export type Publisher = ReturnType<typeof createPublisher>;
