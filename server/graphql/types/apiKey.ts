import { builder } from '../builder.js';
import type { ApiKeyRow } from '../../db/schema.js';
import { ApiKeyRoleEnum } from './enums.js';
import { pageArgs, toConnection } from '../connection.js';

export const ApiKeyRef = builder.objectRef<ApiKeyRow>('ApiKey');
ApiKeyRef.implement({
  description: 'An API key of the organization. The key itself is shown only once, when created.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    role: t.expose('role', { type: ApiKeyRoleEnum }),
    keyPrefix: t.exposeString('keyPrefix', { description: 'First characters of the key, to recognise it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the key last authenticated a request, to the minute (written at most once a minute per key, within a second). Null: never used.',
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreateApiKeyPayload = builder.objectRef<{ apiKey: ApiKeyRow; key: string }>('CreateApiKeyPayload').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.apiKey }),
    key: t.exposeString('key', { description: 'The API key (whk_...). Shown only in this answer: store it now.' }),
  }),
});

builder.queryField('apiKeys', (t) =>
  t.connection({
    type: ApiKeyRef,
    authScopes: { $all: { can: 'manage', apiKey: true } },
    description: 'API keys of the organization, newest first (admins only).',
    resolve: async (_root, args, ctx) => toConnection(await ctx.services.apiKeys.list(ctx.requireViewer().orgId, pageArgs(args))),
  }),
);

builder.mutationField('createApiKey', (t) =>
  t.field({
    type: CreateApiKeyPayload,
    authScopes: { $all: { can: 'manage', apiKey: true } },
    args: {
      role: t.arg({ type: ApiKeyRoleEnum, required: true }),
      name: t.arg.string({ required: true }),
    },
    resolve: (_root, args, ctx) => ctx.services.apiKeys.create(ctx.requireViewer(), args),
  }),
);

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: ApiKeyRef,
    authScopes: { $all: { can: 'manage', apiKey: true } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.apiKeys.revoke(ctx.requireViewer(), String(args.id)),
  }),
);
