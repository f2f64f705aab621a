import { inTransaction, type Database, type Db, type Tx } from '../db/client.js';
import type { TransactionSql } from 'postgres';
import { createEventTypesRepo } from '../db/repos/eventTypes.js';
import { lockName, lockNames } from '../db/nameLocks.js';
import { pageSize, type Page, type PageArgs } from '../domain/pages.js';
import type { EventTypeRow, eventTypes as eventTypesTable } from '../db/schema.js';
import { checkUid, parseRef } from '../domain/clientIds.js';
import { BUILT_IN_EVENT_TYPES, categoryOf } from '../domain/eventCatalog.js';
import { assertNoProblems, badInput, DomainError, notFound, notFoundRef, orThrow, type Checked, type InputProblem } from '../domain/errors.js';
import { isValidEventTypeName, MAX_EVENT_TYPE_LENGTH } from '../domain/eventPatterns.js';
import { compilePayloadSchema } from '../domain/payloadSchema.js';
import { newId } from '../crypto/random.js';
import type { Viewer } from './auth.js';
import { MAX_PAYLOAD_BYTES } from '../engine/publishBatch.js';

export interface CreateEventTypeInput {
  name: string;
  uid?: string | null;
  category?: string | null;
  description?: string | null;
  schema?: unknown;
}

/** Changes to a custom type; absent fields stay, null resets (no uid, default category, no schema). */
export interface UpdateEventTypeInput {
  uid?: string | null;
  category?: string | null;
  description?: string | null;
  schema?: unknown;
  /** False restores a deprecated type. */
  deprecated?: boolean | null;
}

export const EVENT_TYPE_LIMITS = {
  categoryLength: 64,
  descriptionLength: 1000,
  schemaBytes: 64 * 1024,
} as const;

type EventTypeValues = Partial<typeof eventTypesTable.$inferInsert>;

const BUILT_IN_NAMES = new Set(BUILT_IN_EVENT_TYPES.map((t) => t.name));
const CATEGORY_RE = /^[a-z][a-z0-9_-]*$/;

function checkCategory(raw: string | null | undefined, name: string, problems: InputProblem[]): string {
  const category = (raw ?? '').trim() || (name ? categoryOf(name) : '');
  if (!CATEGORY_RE.test(category) || category.length > EVENT_TYPE_LIMITS.categoryLength) {
    problems.push({
      field: 'category',
      message: `category ${JSON.stringify(category)} must be 1 to ${EVENT_TYPE_LIMITS.categoryLength} lowercase letters, digits, "_" or "-", starting with a letter (it defaults to the first segment of the name).`,
    });
  }
  return category;
}

function checkDescription(raw: string | null | undefined, problems: InputProblem[]): string {
  const description = (raw ?? '').trim();
  if (description.length > EVENT_TYPE_LIMITS.descriptionLength) {
    problems.push({ field: 'description', message: `description is ${description.length} characters long; the limit is ${EVENT_TYPE_LIMITS.descriptionLength}.` });
  }
  return description;
}

function checkSchema(raw: unknown, problems: InputProblem[]): Record<string, unknown> | null {
  if (raw === undefined || raw === null) return null;
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(raw) ?? '');
  } catch {
    // JSON.stringify recurses: a schema nested thousands of levels deep overflows the stack.
    size = Infinity;
  }
  const compiled = size > EVENT_TYPE_LIMITS.schemaBytes ? null : compilePayloadSchema(raw);
  if (compiled === null && size === Infinity) {
    problems.push({ field: 'schema', message: 'schema is nested too deeply; a JSON Schema needs a few levels, not thousands.' });
  } else if (compiled === null) {
    problems.push({ field: 'schema', message: `schema is ${size} bytes; the limit is ${EVENT_TYPE_LIMITS.schemaBytes} bytes.` });
  } else if (!compiled.ok) {
    problems.push({ field: 'schema', message: compiled.error });
  } else {
    return raw as Record<string, unknown>;
  }
  return null;
}

function clashError(name: string, existing: EventTypeRow) {
  return existing.orgId === null
    ? badInput(`"${name}" is a built-in event type and cannot be redefined; choose another name.`, 'name')
    : badInput(
        `The event type "${name}" already exists in this organization${existing.deprecated ? ' (deprecated; names are not reused)' : ''}; choose another name.`,
        'name',
      );
}

function uidClash(uid: string, existing: EventTypeRow): InputProblem {
  return { field: 'uid', message: `uid "${uid}" is already used by event type "${existing.name}" (${existing.id}); choose another uid.` };
}

/**
 * The event-type catalog: built-in types shared by everyone, plus each organization's own.
 * Changes are validated by `prepare*` (every problem at once, nothing written) and written by
 * functions that run in the caller's transaction, so applyConfiguration shares these rules.
 */
export function createEventTypeService(deps: { database: Database }) {
  const repo = createEventTypesRepo(deps.database.db);

  /** Every type the organization can use, built-in first, then its own, each by name. */
  async function list(viewer: Viewer, options: { includeDeprecated?: boolean | null } = {}): Promise<EventTypeRow[]> {
    const all = await repo.listForOrg(viewer.orgId);
    return options.includeDeprecated === false ? all.filter((t) => !t.deprecated) : all;
  }

  async function uidProblem(viewer: Viewer, uid: string | null | undefined, selfId: string | null, db?: Db): Promise<InputProblem | null> {
    if (!uid) return null;
    const existing = await repo.findByUid(viewer.orgId, uid, db);
    return existing && existing.id !== selfId ? uidClash(uid, existing) : null;
  }

  /**
   * Takes a new name and uid in `tx`: locked, then checked again now that earlier writers
   * committed (see lockNames).
   */
  async function claimNames(sql: TransactionSql, db: Db, viewer: Viewer, values: { name?: string; uid?: string | null }, selfId: string | null): Promise<void> {
    const names = [...(values.name ? [lockName.eventTypeName(values.name)] : []), ...(values.uid ? [lockName.eventTypeUid(values.uid)] : [])];
    if (names.length === 0) return;
    await lockNames(sql, viewer.orgId, names);
    if (values.name) {
      const clash = await repo.findByName(viewer.orgId, values.name, db);
      if (clash && clash.id !== selfId) throw clashError(values.name, clash);
    }
    const taken = await uidProblem(viewer, values.uid, selfId, db);
    if (taken) throw badInput(taken.message, 'uid');
  }

  async function find(viewer: Viewer, idOrUid: string): Promise<EventTypeRow> {
    const existing = await repo.findByRef(viewer.orgId, parseRef('eventType', idOrUid));
    if (!existing) throw notFoundRef('event type', idOrUid);
    return existing;
  }

  const service = {
    list,

    /** One page of `list` (the catalog is small, so it is paged in memory; the cursor is the type id). */
    async page(viewer: Viewer, options: { includeDeprecated?: boolean | null }, args: PageArgs): Promise<Page<EventTypeRow>> {
      const size = pageSize(args);
      const all = await list(viewer, options);
      let start = 0;
      if (args.after) {
        const index = all.findIndex((t) => t.id === args.after);
        if (index < 0) throw badInput(`Unknown cursor "${args.after}": use pageInfo.endCursor of the previous page.`, 'after');
        start = index + 1;
      }
      return { nodes: all.slice(start, start + size), hasNextPage: all.length > start + size };
    },

    /** Validates a CreateEventTypeInput (name clashes included) without writing. */
    async prepareCreate(viewer: Viewer, input: CreateEventTypeInput, options: { db?: Db } = {}): Promise<Checked<typeof eventTypesTable.$inferInsert>> {
      const problems: InputProblem[] = [];
      const name = typeof input.name === 'string' ? input.name.trim() : '';
      if (!isValidEventTypeName(name)) {
        problems.push({
          field: 'name',
          message:
            `name ${JSON.stringify(name)} is not a valid event type: use at least two dot-separated segments of lowercase letters, ` +
            `digits and "_", each starting with a letter (e.g. "acme.invoice.paid"), at most ${MAX_EVENT_TYPE_LENGTH} characters.`,
        });
      } else if (BUILT_IN_NAMES.has(name)) {
        problems.push({
          field: 'name',
          message: `"${name}" is a built-in event type and cannot be redefined; choose another name (e.g. with your own prefix, "acme.${name}").`,
        });
      }
      const uid = checkUid(input.uid, 'uid', problems) ?? null;
      const category = checkCategory(input.category, name, problems);
      const description = checkDescription(input.description, problems);
      const schema = checkSchema(input.schema, problems);
      if (problems.length === 0) {
        const clash = await repo.findByName(viewer.orgId, name, options.db);
        if (clash) problems.push({ field: 'name', message: clashError(name, clash).message });
        const taken = await uidProblem(viewer, uid, null, options.db);
        if (taken) problems.push(taken);
      }
      if (problems.length > 0) return { ok: false, problems };
      return { ok: true, value: { id: newId('eventType'), orgId: viewer.orgId, uid, name, category, description, schema } };
    },

    /**
     * The content of a test event (sendTestEvent): a catalog type the organization can publish
     * (not deprecated) and a JSON object payload that satisfies the type's schema, within the
     * publishing size limit. Problems name `type` or `data`, as for publishing.
     */
    async checkTestEvent(viewer: Viewer, type: string, data: unknown): Promise<{ type: string; data: Record<string, unknown> }> {
      const row = await repo.findByName(viewer.orgId, type);
      if (!row) {
        const names = (await list(viewer, { includeDeprecated: false })).map((t) => t.name);
        const close = names.filter((n) => n.startsWith(type.split('.')[0] ?? '')).slice(0, 5);
        throw badInput(`"${type}" is not in the event-type catalog${close.length ? `; did you mean ${close.join(', ')}?` : '.'}`, 'type');
      }
      if (row.deprecated) throw badInput(`"${type}" is deprecated and accepts no new events; pick another type.`, 'type');
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        throw badInput(`data must be a JSON object (got ${Array.isArray(data) ? 'an array' : data === null ? 'null' : typeof data}).`, 'data');
      }
      let size: number;
      try {
        size = Buffer.byteLength(JSON.stringify(data));
      } catch {
        throw badInput('data is nested too deeply; flatten it (a few hundred levels at most).', 'data');
      }
      if (size > MAX_PAYLOAD_BYTES) {
        throw new DomainError('PAYLOAD_TOO_LARGE', `data is ${size} bytes; the limit is ${MAX_PAYLOAD_BYTES} bytes (256 KiB).`, 'data');
      }
      if (row.schema) {
        const compiled = compilePayloadSchema(row.schema);
        if (!compiled.ok) throw new Error(`stored JSON Schema of event type ${row.name} does not compile: ${compiled.error}`);
        const problem = compiled.validate(data);
        if (problem) throw badInput(problem, 'data');
      }
      return { type: row.name, data: data as Record<string, unknown> };
    },

    /** Validates changes to a custom type as it is now (`current`). */
    async prepareUpdate(viewer: Viewer, current: EventTypeRow, input: UpdateEventTypeInput, options: { db?: Db } = {}): Promise<Checked<EventTypeValues>> {
      const problems: InputProblem[] = [];
      if (current.orgId === null) {
        return { ok: false, problems: [{ field: 'id', message: `"${current.name}" is a built-in type; built-in types cannot be changed.` }] };
      }
      const has = (key: keyof UpdateEventTypeInput) => Object.prototype.hasOwnProperty.call(input, key) && input[key] !== undefined;
      const values: EventTypeValues = {};
      if (has('uid')) values.uid = checkUid(input.uid, 'uid', problems) ?? null;
      if (has('category')) values.category = checkCategory(input.category, current.name, problems);
      if (has('description')) values.description = checkDescription(input.description, problems);
      if (has('schema')) values.schema = checkSchema(input.schema, problems);
      if (has('deprecated') && input.deprecated !== null && input.deprecated !== current.deprecated) {
        values.deprecated = input.deprecated;
        values.deprecatedAt = input.deprecated ? new Date() : null;
      }
      if (problems.length === 0) {
        const taken = await uidProblem(viewer, values.uid, current.id, options.db);
        if (taken) problems.push(taken);
      }
      return problems.length > 0 ? { ok: false, problems } : { ok: true, value: values };
    },

    /** Inserts a prepared type in `tx`. */
    async insert({ sql, db }: Tx, viewer: Viewer, row: typeof eventTypesTable.$inferInsert): Promise<EventTypeRow> {
      await claimNames(sql, db, viewer, row, null);
      return repo.insert(row, db);
    },

    /** Writes prepared changes of one of the organization's types in `tx`. */
    async write({ sql, db }: Tx, viewer: Viewer, id: string, values: EventTypeValues): Promise<EventTypeRow> {
      await claimNames(sql, db, viewer, { uid: values.uid }, id);
      const updated = await repo.update(viewer.orgId, id, values, db);
      if (!updated) throw notFoundRef('event type', id);
      return updated;
    },

    /** Adds a custom type to the organization's catalog; its JSON Schema, if any, checks every published payload. */
    async create(viewer: Viewer, input: CreateEventTypeInput): Promise<EventTypeRow> {
      const row = orThrow(await service.prepareCreate(viewer, input));
      return inTransaction(deps.database, (tx) => service.insert(tx, viewer, row));
    },

    /** Changes a custom type (by id or uid): its uid, category, description, schema or deprecation. */
    async update(viewer: Viewer, idOrUid: string, input: UpdateEventTypeInput): Promise<EventTypeRow> {
      const current = await find(viewer, idOrUid);
      const values = orThrow(await service.prepareUpdate(viewer, current, input));
      return inTransaction(deps.database, (tx) => service.write(tx, viewer, current.id, values));
    },

    /** Marks a custom type (by id or uid) deprecated: it stays visible but no longer accepts events or new patterns. */
    async deprecate(viewer: Viewer, idOrUid: string): Promise<EventTypeRow> {
      const existing = await find(viewer, idOrUid);
      if (existing.orgId === null) {
        throw badInput(`"${existing.name}" is a built-in type; built-in types cannot be deprecated. Remove it from your endpoints' EventSubscriptions instead.`, 'id');
      }
      const updated = await repo.deprecate(viewer.orgId, existing.id);
      if (!updated) throw notFoundRef('event type', idOrUid);
      return updated;
    },
  };
  return service;
}
export type EventTypeService = ReturnType<typeof createEventTypeService>;
