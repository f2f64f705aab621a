import { builder } from '../builder.js';

const EndpointUrlPolicyRef = builder.objectRef<{ allowHttp: boolean }>('EndpointUrlPolicy').implement({
  description: 'What endpoint URLs this server accepts (set by its operator).',
  fields: (t) => ({
    allowHttp: t.exposeBoolean('allowHttp', { description: 'True when http:// URLs are accepted as well as https:// (WEBHOOKS_ALLOW_HTTP).' }),
  }),
});

builder.queryField('endpointUrlPolicy', (t) =>
  t.field({
    type: EndpointUrlPolicyRef,
    authScopes: { can: 'read' },
    resolve: (_root, _args, ctx) => {
      ctx.requireViewer();
      return ctx.services.endpoints.urlPolicy();
    },
  }),
);
