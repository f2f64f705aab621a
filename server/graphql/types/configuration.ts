import { builder } from '../builder.js';
import type { ConfigurationPlanResult, PlannedChange } from '../../services/configuration.js';

const ConfigurationObjectKindEnum = builder.enumType('ConfigurationObjectKind', {
  values: { ENDPOINT: { description: 'An endpoint, keyed by its uid (or its id when it has none).' }, EVENT_TYPE: { description: 'A custom event type, keyed by its name.' } } as const,
});

const ConfigurationActionEnum = builder.enumType('ConfigurationAction', {
  values: {
    CREATE: {},
    UPDATE: { description: 'changedFields names what differs.' },
    DELETE: { description: 'Only with prune. An endpoint is deleted; an event type (never removed: events keep their type) is deprecated.' },
    UNCHANGED: {},
  } as const,
});

const ConfigurationObjectRef = builder.objectRef<{ kind: PlannedChange['kind']; key: string }>('ConfigurationObject').implement({
  description: 'An object of the organization the document leaves out; kept as it is (prune would delete it).',
  fields: (t) => ({
    kind: t.field({ type: ConfigurationObjectKindEnum, resolve: (o) => o.kind }),
    key: t.exposeString('key'),
  }),
});

const ConfigurationFieldChangeRef = builder.objectRef<PlannedChange['fields'][number]>('ConfigurationFieldChange').implement({
  description: 'One changed setting (or part of one) with its value before and after, for a person reading the plan.',
  fields: (t) => ({
    field: t.exposeString('field'),
    before: t.field({ type: 'JSON', nullable: true, description: 'null for a CREATE, and for secret values.', resolve: (f) => f.before ?? null }),
    after: t.field({ type: 'JSON', nullable: true, description: 'null for secret values. URLs show their query string as "?••••".', resolve: (f) => f.after ?? null }),
    secret: t.exposeBoolean('secret', { description: 'True for custom header values and the mTLS client key: their values are never shown.' }),
  }),
});

const ConfigurationChangeRef = builder.objectRef<PlannedChange>('ConfigurationChange').implement({
  description: 'What applying the document does to one object.',
  fields: (t) => ({
    kind: t.field({ type: ConfigurationObjectKindEnum, resolve: (c) => c.kind }),
    key: t.exposeString('key', { description: 'The object\'s key in the document: an endpoint\'s uid (or id), an event type\'s name.' }),
    action: t.field({ type: ConfigurationActionEnum, resolve: (c) => c.action }),
    changedFields: t.exposeStringList('changedFields', {
      description: 'UPDATE: the settings that differ, or their parts ("retryPolicy.maxAttempts", "headers.Authorization"); CREATE: the settings the document gives. Values are never shown.',
    }),
    fields: t.field({ type: [ConfigurationFieldChangeRef], resolve: (c) => c.fields }),
    id: t.exposeID('id', { nullable: true, description: 'The object\'s id (null for a CREATE in a dry run).' }),
    secret: t.exposeString('secret', {
      nullable: true,
      description: 'The new HMAC signing secret of an endpoint created (or switched to HMAC_SHA256) by this apply, shown only in this answer.',
    }),
  }),
});

const ConfigurationPlanRef = builder.objectRef<ConfigurationPlanResult>('ConfigurationPlan').implement({
  description: 'The changes a configuration document makes, in the order they are applied.',
  fields: (t) => ({
    applied: t.exposeBoolean('applied', { description: 'True when the changes were written (one transaction); false for a dry run.' }),
    dryRun: t.exposeBoolean('dryRun'),
    changes: t.field({ type: [ConfigurationChangeRef], resolve: (p) => p.changes }),
    unmanaged: t.field({
      type: [ConfigurationObjectRef],
      description: 'Objects the document leaves out, kept because prune was false.',
      resolve: (p) => p.unmanaged,
    }),
  }),
});

builder.mutationField('applyConfiguration', (t) =>
  t.field({
    type: ConfigurationPlanRef,
    // Organization-wide: never for an embedded portal session (label-scoped, endpoints only).
    authScopes: { $all: { can: 'manage', enterprise: true, apiKey: true } },
    description:
      'Makes the organization\'s endpoints and custom event types what `document` describes (the format of exportConfiguration; docs/integrators.md), ' +
      'in one transaction: every change or none. A document with problems changes nothing and answers BAD_USER_INPUT listing every problem with its path ' +
      '(extensions.problems). Applying the same document again changes nothing.',
    args: {
      document: t.arg({ type: 'JSON', required: true }),
      dryRun: t.arg.boolean({ defaultValue: false, description: 'Plan and validate only; nothing is written.' }),
      prune: t.arg.boolean({ defaultValue: false, description: 'Delete endpoints (and deprecate custom event types) the document leaves out.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.configuration.apply(ctx.requireViewer(), args.document, { dryRun: args.dryRun ?? false, prune: args.prune ?? false }),
  }),
);

builder.queryField('exportConfiguration', (t) =>
  t.field({
    type: 'JSON',
    authScopes: { $all: { can: 'read', apiKey: true } },
    description:
      'The organization\'s endpoints and custom event types as a configuration document for applyConfiguration. It holds no secret: header values, ' +
      'mTLS client keys and URL query strings are written {"unchanged": true}, which keeps the current value when applied.',
    resolve: (_root, _args, ctx) => ctx.services.configuration.export(ctx.requireViewer()),
  }),
);
