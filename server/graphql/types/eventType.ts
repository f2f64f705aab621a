import { builder } from '../builder.js';
import type { EventTypeRow } from '../../db/schema.js';
import { pageArgs, toConnection } from '../connection.js';
import { builtInEventType } from '../../domain/eventCatalog.js';

export const EventTypeRef = builder.objectRef<EventTypeRow>('EventType');
EventTypeRef.implement({
  description: 'An entry of the event-type catalog: built in (shared by every organization) or defined by this organization.',
  fields: (t) => ({
    id: t.exposeID('id'),
    uid: t.exposeString('uid', {
      nullable: true,
      description: 'Client id chosen by the integrator (custom types only), unique in the organization; accepted wherever an event type id is.',
    }),
    name: t.exposeString('name', { description: 'e.g. "pipeline.run.failed"; what EventSubscription patterns match against.' }),
    category: t.exposeString('category'),
    description: t.exposeString('description'),
    schema: t.field({
      type: 'JSON',
      nullable: true,
      description: 'JSON Schema (draft 2020-12) every published payload of this type must satisfy; null when payloads are free-form.',
      resolve: (row) => row.schema ?? null,
    }),
    example: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'An example `data` of this type, as the service or the platform sends it (built-in types; null for custom ones, and for viewers, who never see payloads).',
      // Payload-shaped (key ids and prefixes): the same rule as Event.data.
      authScopes: { can: 'readPayload' },
      unauthorizedResolver: () => null,
      resolve: (row) => (row.orgId === null ? (builtInEventType(row.name)?.example ?? null) : null),
    }),
    deprecated: t.exposeBoolean('deprecated', { description: 'Deprecated types refuse new events and new EventSubscription patterns.' }),
    deprecatedAt: t.expose('deprecatedAt', { type: 'DateTime', nullable: true }),
    builtIn: t.boolean({ description: 'True for the built-in catalog, which cannot be changed.', resolve: (row) => row.orgId === null }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const UID_DESCRIPTION = 'Client id: 1–64 letters, digits, "-", "_" or "." (e.g. "invoice-paid"), unique in the organization, not shaped like a generated id.';
const EVENT_TYPE_REF = 'The event type\'s id or its client uid.';

const CreateEventTypeInput = builder.inputType('CreateEventTypeInput', {
  fields: (t) => ({
    name: t.string({
      required: true,
      description: 'At least two dot-separated segments of lowercase letters, digits and "_" (e.g. "acme.invoice.paid"); not a built-in name.',
    }),
    uid: t.string({ description: UID_DESCRIPTION }),
    category: t.string({ description: 'Defaults to the first segment of the name.' }),
    description: t.string(),
    schema: t.field({ type: 'JSON', description: 'Optional JSON Schema (draft 2020-12) that published payloads must satisfy.' }),
  }),
});

const UpdateEventTypeInput = builder.inputType('UpdateEventTypeInput', {
  description: 'Only the fields given change; null resets a field (no uid, the default category, no schema). The name never changes.',
  fields: (t) => ({
    uid: t.string({ description: `${UID_DESCRIPTION} null or "" removes it.` }),
    category: t.string({ description: 'null resets it to the first segment of the name.' }),
    description: t.string(),
    schema: t.field({ type: 'JSON', description: 'JSON Schema (draft 2020-12) for payloads published from now on; null accepts any payload.' }),
    deprecated: t.boolean({ description: 'true deprecates the type (as deprecateEventType); false restores it.' }),
  }),
});

builder.queryField('eventTypes', (t) =>
  t.connection({
    type: EventTypeRef,
    authScopes: { can: 'read' },
    description: 'The event-type catalog: built-in types first, then the organization\'s own, each sorted by name.',
    args: {
      includeDeprecated: t.arg.boolean({ defaultValue: true, description: 'False hides deprecated types (e.g. for a picker).' }),
    },
    resolve: async (_root, args, ctx) =>
      toConnection(await ctx.services.eventTypes.page(ctx.requireViewer(), { includeDeprecated: args.includeDeprecated }, pageArgs(args))),
  }),
);

builder.mutationField('createEventType', (t) =>
  t.field({
    type: EventTypeRef,
    authScopes: { $all: { can: 'manage', apiKey: true } },
    description: 'Adds a custom event type to the organization\'s catalog.',
    args: { input: t.arg({ type: CreateEventTypeInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.services.eventTypes.create(ctx.requireViewer(), args.input),
  }),
);

builder.mutationField('deprecateEventType', (t) =>
  t.field({
    type: EventTypeRef,
    authScopes: { $all: { can: 'manage', apiKey: true } },
    description: 'Deprecates one of the organization\'s own event types: it stays in the catalog but accepts no new events. Built-in types cannot be deprecated.',
    args: { id: t.arg.id({ required: true, description: EVENT_TYPE_REF }) },
    resolve: (_root, args, ctx) => ctx.services.eventTypes.deprecate(ctx.requireViewer(), String(args.id)),
  }),
);

builder.mutationField('updateEventType', (t) =>
  t.field({
    type: EventTypeRef,
    authScopes: { can: 'manage' },
    description: 'Changes one of the organization\'s own event types: its uid, category, description, JSON Schema or deprecation. Built-in types cannot be changed.',
    args: {
      id: t.arg.id({ required: true, description: EVENT_TYPE_REF }),
      input: t.arg({ type: UpdateEventTypeInput, required: true }),
    },
    resolve: (_root, args, ctx) => ctx.services.eventTypes.update(ctx.requireViewer(), String(args.id), args.input),
  }),
);
