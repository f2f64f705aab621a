/**
 * How a custom event type appears in a configuration document (keyed by its name): one entry per
 * setting, read into the event-type inputs' form, compared with the type as it is, exported.
 */
import { categoryOf } from '../eventCatalog.js';
import { INVALID, isPlainObject, readBoolean, readString, sameJson, type ReadContext } from './shapes.js';

/** A custom event type as it is. */
export interface CurrentEventType {
  id: string;
  name: string;
  uid: string | null;
  category: string;
  description: string;
  schema: Record<string, unknown> | null;
  deprecated: boolean;
}

export interface EventTypeField {
  name: 'uid' | 'category' | 'description' | 'schema' | 'deprecated';
  /** The value when the document leaves the setting out. */
  absent(typeName: string): unknown;
  read(raw: unknown, ctx: ReadContext): unknown;
  current(type: CurrentEventType): unknown;
  same(desired: unknown, current: unknown): boolean;
}

const orNull =
  (read: (raw: unknown, ctx: ReadContext) => unknown) =>
  (raw: unknown, ctx: ReadContext): unknown =>
    raw === null ? null : read(raw, ctx);

/** Every setting of a custom event type a document holds, in the order an export writes them. */
export const EVENT_TYPE_FIELDS: readonly EventTypeField[] = [
  { name: 'uid', absent: () => null, read: orNull(readString), current: (t) => t.uid, same: (a, b) => (a || null) === (b || null) },
  {
    name: 'category',
    absent: (typeName) => categoryOf(typeName),
    read: (raw, ctx) => readString(raw, ctx),
    current: (t) => t.category,
    same: (a, b) => typeof a === 'string' && a.trim() === b,
  },
  {
    name: 'description',
    absent: () => '',
    read: orNull((raw, ctx) => readString(raw, ctx)),
    current: (t) => t.description,
    same: (a, b) => ((a as string | null) ?? '').trim() === b,
  },
  {
    name: 'schema',
    absent: () => null,
    read: (raw, ctx) => {
      if (raw === null || isPlainObject(raw)) return raw;
      ctx.problems.push({ field: ctx.at, message: `${ctx.at} must be a JSON Schema object, or null for free-form payloads.` });
      return INVALID;
    },
    current: (t) => t.schema,
    same: sameJson,
  },
  { name: 'deprecated', absent: () => false, read: readBoolean, current: (t) => t.deprecated, same: (a, b) => a === b },
];

export const EVENT_TYPE_FIELD_NAMES: readonly string[] = EVENT_TYPE_FIELDS.map((f) => f.name);

/** A custom type as `exportConfiguration` writes it (settings at their default left out). */
export function exportEventType(type: CurrentEventType): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  for (const field of EVENT_TYPE_FIELDS) {
    const value = field.current(type);
    if (!field.same(value, field.absent(type.name))) entry[field.name] = value;
  }
  return entry;
}
