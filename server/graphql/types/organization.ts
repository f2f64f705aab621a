import { builder } from '../builder.js';
import type { Organization } from '../../db/schema.js';
import { pageArgs, toConnection } from '../connection.js';
import { PlanEnum } from './enums.js';

export const OrganizationRef = builder.objectRef<Organization>('Organization');
OrganizationRef.implement({
  description: 'The tenant that owns every endpoint, event, delivery and key.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    plan: t.expose('plan', {
      type: PlanEnum,
      description: 'Webhooks need enterprise: on other plans events are stored but not delivered, and queued deliveries wait.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreateOrganizationPayload = builder.objectRef<{ org: Organization; apiKey: string }>('CreateOrganizationPayload').implement({
  fields: (t) => ({
    organization: t.field({ type: OrganizationRef, resolve: (p) => p.org }),
    apiKey: t.exposeString('apiKey', { description: "The organization's first admin key (whk_...). Shown only in this answer: hand it over now." }),
  }),
});

builder.queryField('organizations', (t) =>
  t.connection({
    type: OrganizationRef,
    authScopes: { platform: true },
    description: 'Every organization, newest first (platform operator credential only).',
    resolve: async (_root, args, ctx) => toConnection(await ctx.services.platform.list(pageArgs(args))),
  }),
);

builder.mutationField('createOrganization', (t) =>
  t.field({
    type: CreateOrganizationPayload,
    authScopes: { platform: true },
    description: 'Creates an organization with its first admin key (platform operator credential only).',
    args: {
      name: t.arg.string({ required: true }),
      plan: t.arg({ type: PlanEnum, required: false, description: 'Default: enterprise.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.platform.createOrganization({ name: args.name, plan: args.plan }),
  }),
);

builder.mutationField('setOrganizationPlan', (t) =>
  t.field({
    type: OrganizationRef,
    authScopes: { platform: true },
    description:
      'Moves an organization to another plan (platform operator credential only). Leaving enterprise keeps its configuration and holds its queued deliveries; coming back sends them.',
    args: {
      id: t.arg.id({ required: true }),
      plan: t.arg({ type: PlanEnum, required: true }),
    },
    resolve: (_root, args, ctx) => ctx.services.platform.setPlan(String(args.id), args.plan),
  }),
);
