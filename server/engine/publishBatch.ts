import type { EventTypesRepo } from '../db/repos/eventTypes.js';
import { assertNoProblems, badInput, DomainError, type InputProblem } from '../domain/errors.js';
import { closestNames } from '../domain/eventPatterns.js';
import { formatTraceparent, parseTraceparent } from '../domain/traceContext.js';
import { newId } from '../crypto/random.js';
import type { PayloadValidationPool } from './payloadValidation/pool.js';
import type { CatalogType } from './publishCatalog.js';

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

export const MAX_BATCH = 1000;
export const MAX_PAYLOAD_BYTES = 256 * 1024;
export const DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024;
const MAX_KEY_LENGTH = 255;
/** Version 00 is 55 characters; later versions may append fields. */
const MAX_TRACEPARENT_LENGTH = 512;

export interface PreparedEvent {
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
 * The batch checked for what needs no catalog (its size, each payload an object within the
 * limits, eventIds unique and well formed, orderingKeys and traceparents well formed) and made
 * into events with their ids. All problems together become one bad-input error.
 */
export function prepareBatch(inputs: PublishInput[], fieldPrefix: (i: number) => string, maxBatchBytes: number): PreparedEvent[] {
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
 * The check of a prepared batch against the organization's catalog: each type known and not
 * deprecated, each payload valid against its type's JSON Schema.
 */
export function createTypeCheck(deps: {
  eventTypesRepo: Pick<EventTypesRepo, 'listForOrg'>;
  validation: PayloadValidationPool;
  validationBudgetMs: number;
}) {
  const { eventTypesRepo, validation, validationBudgetMs } = deps;
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
  return checkTypes;
}
