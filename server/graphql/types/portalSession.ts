import { builder } from '../builder.js';
import type { PortalScope, Viewer } from '../../services/auth.js';
import { ApiKeyRoleEnum } from './enums.js';
import { ViewerRef } from './viewer.js';

const PortalSessionLinkRef = builder.objectRef<{ url: string; expiresAt: Date }>('PortalSessionLink').implement({
  description: 'A link that opens the console signed in as the portal session. Use it once (it is exchanged for the session on load).',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Embed it in an iframe (origins in WEBHOOKS_PORTAL_FRAME_ANCESTORS) or open it. The token is in the fragment, so it never reaches server logs.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

export const PortalSessionInfoRef = builder.objectRef<PortalScope>('PortalSessionInfo').implement({
  description: 'What a portal session is limited to, and how the console presents itself.',
  fields: (t) => ({
    labels: t.exposeStringList('labels', { nullable: true, description: 'Only endpoints carrying one of these labels; null: every endpoint.' }),
    displayName: t.exposeString('displayName', { nullable: true }),
    accentColor: t.exposeString('accentColor', { nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

const PortalSessionGrantRef = builder.objectRef<{ sessionToken: string; viewer: Viewer }>('PortalSessionGrant').implement({
  fields: (t) => ({
    sessionToken: t.exposeString('sessionToken', { description: 'Send it as "Authorization: Bearer whps_..." (and in graphql-ws connection_init). Keep it in memory only.' }),
    expiresAt: t.field({ type: 'DateTime', resolve: (g) => g.viewer.portal!.expiresAt }),
    role: t.field({ type: ApiKeyRoleEnum, resolve: (g) => g.viewer.role }),
    portal: t.field({ type: PortalSessionInfoRef, resolve: (g) => g.viewer.portal! }),
  }),
});

builder.mutationField('createPortalSession', (t) =>
  t.field({
    type: PortalSessionLinkRef,
    authScopes: { $all: { can: 'manage', apiKey: true } },
    description:
      'A short-lived link that opens the console already signed in, for this organization and `role`, to embed in the platform\'s own settings page. ' +
      'With `labels`, the session sees and creates only endpoints carrying one of them. A portal session is not an API key: it cannot manage API keys, event types or portal sessions, nor publish.',
    args: {
      role: t.arg({ type: ApiKeyRoleEnum, required: true, description: 'ADMIN, OPERATOR or VIEWER.' }),
      ttlSeconds: t.arg.int({ description: 'Lifetime of the session: 60–86,400 seconds; default 3,600.' }),
      labels: t.arg.stringList({ description: 'Only endpoints carrying one of these labels (e.g. ["team:security"]); default every endpoint.' }),
      displayName: t.arg.string({ description: 'Shown in the console header, e.g. the platform customer\'s name (up to 100 characters).' }),
      accentColor: t.arg.string({ description: 'The console\'s accent colour, "#rrggbb".' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.portalSessions.create(
        ctx.requireViewer(),
        { role: args.role, ttlSeconds: args.ttlSeconds, labels: args.labels, displayName: args.displayName, accentColor: args.accentColor },
        ctx.requestOrigin ?? null,
      ),
  }),
);

builder.mutationField('revokePortalSessions', (t) =>
  t.int({
    authScopes: { $all: { can: 'manage', apiKey: true } },
    description: 'Ends every portal session of the organization at once (their open live streams close); answers how many were active.',
    resolve: (_root, _args, ctx) => ctx.services.portalSessions.revokeAll(ctx.requireViewer()),
  }),
);

builder.mutationField('exchangePortalToken', (t) =>
  t.field({
    type: PortalSessionGrantRef,
    description: 'Trades the one-time token of a portal link (its #token fragment) for the session token. Needs no other credential; each link works once.',
    args: { token: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.portalSessions.exchange(args.token),
  }),
);

builder.objectField(ViewerRef, 'portal', (t) =>
  t.field({
    type: PortalSessionInfoRef,
    nullable: true,
    description: 'Set when the caller is an embedded portal session.',
    resolve: (v) => v.portal ?? null,
  }),
);
