import { builder } from '../builder.js';
import { roleCan } from '../../domain/roles.js';
import type { TransformationTestResult } from '../../services/endpointContent.js';
import { EndpointRef } from './endpoint.js';

// Content filters and transformations: the Endpoint fields, and what the console checks as the
// user types (validateEndpointFilter, testTransformation).

builder.objectFields(EndpointRef, (t) => ({
  filter: t.exposeString('filter', {
    nullable: true,
    description: 'CEL content filter over type, data, orderingKey and timestamp; events reach the endpoint only when it is true. Null: none.',
  }),
  filterErrorCount: t.int({
    description:
      'Filter evaluations that failed (e.g. a missing field without has(), a budget exceeded) since the filter was set; a failed evaluation counts as false. Written every few seconds.',
    resolve: (e) => e.filterErrorCount,
  }),
  filterLastError: t.exposeString('filterLastError', { nullable: true, description: 'The message of the last failed filter evaluation.' }),
  filterLastErrorAt: t.expose('filterLastErrorAt', { type: 'DateTime', nullable: true }),
  transformation: t.string({
    nullable: true,
    description: 'JavaScript run before signing (function handler(webhook)); null when none, and for roles that may not read payloads (viewer).',
    authScopes: (_parent, _args, ctx) => roleCan(ctx.requireViewer().role, 'readPayload'),
    unauthorizedResolver: () => null,
    resolve: (e) => e.transformation,
  }),
}));

const FilterPositionRef = builder.objectRef<{ line: number; column: number }>('FilterPosition').implement({
  fields: (t) => ({ line: t.exposeInt('line'), column: t.exposeInt('column') }),
});

const FilterValidationRef = builder
  .objectRef<{ valid: boolean; message: string | null; position: { line: number; column: number } | null }>('FilterValidation')
  .implement({
    description: 'Whether a content filter is valid, and what is wrong where if not.',
    fields: (t) => ({
      valid: t.exposeBoolean('valid'),
      message: t.exposeString('message', { nullable: true }),
      position: t.field({ type: FilterPositionRef, nullable: true, resolve: (v) => v.position }),
    }),
  });

builder.queryField('validateEndpointFilter', (t) =>
  t.field({
    type: FilterValidationRef,
    authScopes: { can: 'read' },
    description: 'Checks a content filter without saving it (the console calls it as the user types).',
    args: { expression: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => {
      ctx.requireViewer();
      return ctx.services.endpointContent.validateFilter(args.expression);
    },
  }),
);

const TransformedHeaderRef = builder.objectRef<{ name: string; value: string }>('TransformedHeader').implement({
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeString('value') }),
});

const TransformationTestRef = builder.objectRef<TransformationTestResult>('TransformationTestResult').implement({
  description: 'What a transformation made of one event: the body and custom headers it would send, a cancellation, or its error.',
  fields: (t) => ({
    ok: t.boolean({ description: 'False when the transformation failed (error says why).', resolve: (r) => r.outcome.kind !== 'error' }),
    cancelled: t.boolean({ resolve: (r) => r.outcome.kind === 'cancel' }),
    body: t.string({ nullable: true, description: 'The request body that would be sent (signed as it is).', resolve: (r) => (r.outcome.kind === 'send' ? r.outcome.body : null) }),
    headers: t.field({
      type: [TransformedHeaderRef],
      description: 'The custom headers that would be sent (the sender adds content-type, user-agent and webhook-*).',
      resolve: (r) => (r.outcome.kind === 'send' ? Object.entries(r.outcome.headers).map(([name, value]) => ({ name, value })) : []),
    }),
    error: t.string({ nullable: true, resolve: (r) => (r.outcome.kind === 'error' ? r.outcome.message : null) }),
    durationMs: t.float({ description: 'Time spent in the sandbox.', resolve: (r) => Math.round(r.durationMs * 100) / 100 }),
  }),
});

const TransformationHeaderInput = builder.inputType('TransformationHeaderInput', {
  fields: (t) => ({ name: t.string({ required: true }), value: t.string({ required: true }) }),
});

builder.mutationField('testTransformation', (t) =>
  t.field({
    type: TransformationTestRef,
    authScopes: { $all: { can: 'manage', enterprise: true } },
    description:
      'Runs transformation code on an event of `type` with `data` in the sandbox, exactly as a delivery would, and answers with what would be sent. Nothing is saved or sent.',
    args: {
      code: t.arg.string({ required: true }),
      type: t.arg.string({ required: true }),
      data: t.arg({ type: 'JSON', required: true }),
      headers: t.arg({ type: [TransformationHeaderInput], description: 'Custom headers the endpoint would send (default none).' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.endpointContent.testTransformation(
        ctx.requireViewer(),
        args.code,
        args.type,
        args.data,
        Object.fromEntries((args.headers ?? []).map((h) => [h.name, h.value])),
      ),
  }),
);
