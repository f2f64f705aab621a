import { builder } from '../builder.js';
import type { Viewer } from '../../services/auth.js';
import { notFound } from '../../domain/errors.js';
import { PlanEnum, ApiKeyRoleEnum } from './enums.js';
import { OrganizationRef } from './organization.js';

export const ViewerRef = builder.objectRef<Viewer>('Viewer');
ViewerRef.implement({
  description: 'The caller: the organization and role of the API key used.',
  fields: (t) => ({
    org: t.field({
      type: OrganizationRef,
      resolve: async (v, _args, ctx) => (await ctx.services.organizations.findOrganization(v.orgId)) ?? Promise.reject(notFound('organization', v.orgId)),
    }),
    role: t.expose('role', { type: ApiKeyRoleEnum }),
    plan: t.expose('plan', { type: PlanEnum }),
    apiKeyId: t.exposeID('apiKeyId'),
    apiKeyName: t.exposeString('apiKeyName'),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Who is calling: organization, role and plan of the API key.',
    resolve: (_root, _args, ctx) => ctx.requireViewer(),
  }),
);
