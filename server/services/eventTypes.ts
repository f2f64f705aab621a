import type { Database } from '../db/client.js';
import { createEventTypesRepo } from '../db/repos/eventTypes.js';
import { pageSize, type Page, type PageArgs } from '../db/repos/pagination.js';
import type { EventTypeRow } from '../db/schema.js';
import { BUILT_IN_EVENT_TYPES, categoryOf } from '../domain/eventCatalog.js';
import { assertNoProblems, badInput, DomainError, notFound, type InputProblem } from '../domain/errors.js';
import { isValidEventTypeName, MAX_EVENT_TYPE_LENGTH } from '../domain/eventPatterns.js';
import { isIdOf } from '../domain/ids.js';
import { compilePayloadSchema } from '../domain/payloadSchema.js';
import { newId } from '../crypto/random.js';
import type { Viewer } from './auth.js';
import { MAX_PAYLOAD_BYTES } from '../engine/publish.js';

export interface CreateEventTypeInput {
  name: string;
  category?: string | null;
  description?: string | null;
  schema?: unknown;
}

export const EVENT_TYPE_LIMITS = {
  categoryLength: 64,
  descriptionLength: 1000,
  schemaBytes: 64 * 1024,
} as const;

const BUILT_IN_NAMES = new Set(BUILT_IN_EVENT_TYPES.map((t) => t.name));
const CATEGORY_RE = /^[a-z][a-z0-9_-]*$/;

/** The event-type catalog: built-in types shared by everyone, plus each organization's own. */
export function createEventTypeService(deps: { database: Database }) {
  const repo = createEventTypesRepo(deps.database.db);

  /** Every type the organization can use, built-in first, then its own, each by name. */
  async function list(viewer: Viewer, options: { includeDeprecated?: boolean | null } = {}): Promise<EventTypeRow[]> {
    const all = await repo.listForOrg(viewer.orgId);
    return options.includeDeprecated === false ? all.filter((t) => !t.deprecated) : all;
  }

  return {
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

    /** Adds a custom type to the organization's catalog; its JSON Schema, if any, checks every published payload. */
    async create(viewer: Viewer, input: CreateEventTypeInput): Promise<EventTypeRow> {
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
      const category = (input.category ?? '').trim() || (name ? categoryOf(name) : '');
      if (!CATEGORY_RE.test(category) || category.length > EVENT_TYPE_LIMITS.categoryLength) {
        problems.push({
          field: 'category',
          message: `category ${JSON.stringify(category)} must be 1 to ${EVENT_TYPE_LIMITS.categoryLength} lowercase letters, digits, "_" or "-", starting with a letter (it defaults to the first segment of the name).`,
        });
      }
      const description = (input.description ?? '').trim();
      if (description.length > EVENT_TYPE_LIMITS.descriptionLength) {
        problems.push({
          field: 'description',
          message: `description is ${description.length} characters long; the limit is ${EVENT_TYPE_LIMITS.descriptionLength}.`,
        });
      }
      let schema: Record<string, unknown> | null = null;
      if (input.schema !== undefined && input.schema !== null) {
        let size: number;
        try {
          size = Buffer.byteLength(JSON.stringify(input.schema) ?? '');
        } catch {
          // JSON.stringify recurses: a schema nested thousands of levels deep overflows the stack.
          size = Infinity;
        }
        const compiled = size > EVENT_TYPE_LIMITS.schemaBytes ? null : compilePayloadSchema(input.schema);
        if (compiled === null && size === Infinity) {
          problems.push({ field: 'schema', message: 'schema is nested too deeply; a JSON Schema needs a few levels, not thousands.' });
        } else if (compiled === null) {
          problems.push({ field: 'schema', message: `schema is ${size} bytes; the limit is ${EVENT_TYPE_LIMITS.schemaBytes} bytes.` });
        } else if (!compiled.ok) {
          problems.push({ field: 'schema', message: compiled.error });
        } else {
          schema = input.schema as Record<string, unknown>;
        }
      }
      assertNoProblems(problems);

      const clash = await repo.findByName(viewer.orgId, name);
      if (clash) throw clashError(name, clash);
      try {
        return await repo.insert({ id: newId('eventType'), orgId: viewer.orgId, name, category, description, schema });
      } catch (err) {
        // Two requests creating the same name at once: the unique index decides.
        if ((err as { cause?: { code?: string }; code?: string }).cause?.code === '23505' || (err as { code?: string }).code === '23505') {
          const existing = await repo.findByName(viewer.orgId, name);
          if (existing) throw clashError(name, existing);
        }
        throw err;
      }
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

    /** Marks a custom type deprecated: it stays visible but no longer accepts events or new patterns. */
    async deprecate(viewer: Viewer, id: string): Promise<EventTypeRow> {
      const existing = isIdOf('eventType', id) ? await repo.findForOrg(viewer.orgId, id) : null;
      if (!existing) throw notFound('event type', id);
      if (existing.orgId === null) {
        throw badInput(`"${existing.name}" is a built-in type; built-in types cannot be deprecated. Remove it from your endpoints' EventSubscriptions instead.`, 'id');
      }
      const updated = await repo.deprecate(viewer.orgId, id);
      if (!updated) throw notFound('event type', id);
      return updated;
    },
  };
}

function clashError(name: string, existing: EventTypeRow) {
  return existing.orgId === null
    ? badInput(`"${name}" is a built-in event type and cannot be redefined; choose another name.`, 'name')
    : badInput(
        `The event type "${name}" already exists in this organization${existing.deprecated ? ' (deprecated; names are not reused)' : ''}; choose another name.`,
        'name',
      );
}
export type EventTypeService = ReturnType<typeof createEventTypeService>;
