import { builder } from '../builder.js';
import type { Viewer } from '../../services/auth.js';
import { PlanEnum, ApiKeyRoleEnum } from './enums.js';

const OrganizationRef = builder.objectRef<{ id: string; name: string; plan: Viewer['plan'] }>('Organization');
OrganizationRef.implement({
  description: 'The tenant that owns every endpoint, event, delivery and key.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    plan: t.expose('plan', { type: PlanEnum }),
  }),
});

export const ViewerRef = builder.objectRef<Viewer>('Viewer');
ViewerRef.implement({
  description: 'The caller: the organization and role of the API key used.',
  fields: (t) => ({
    org: t.field({ type: OrganizationRef, resolve: (v) => ({ id: v.orgId, name: v.orgName, plan: v.plan }) }),
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
