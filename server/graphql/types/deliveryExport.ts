import { builder } from '../builder.js';
import { DeliveryFilterInput } from './delivery.js';

const ExportFormatEnum = builder.enumType('ExportFormat', {
  description: 'CSV (RFC 4180, one header line) or JSON (an array of objects with the same keys).',
  values: { CSV: { value: 'csv' }, JSON: { value: 'json' } } as const,
});

const DeliveryExportRef = builder.objectRef<{ url: string; expiresAt: Date }>('DeliveryExport').implement({
  description: 'A download link for an export of deliveries.',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Path of the download on this server (GET); works once opened before expiresAt.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

builder.mutationField('createDeliveryExport', (t) =>
  t.field({
    type: DeliveryExportRef,
    // Org-wide: never for a label-scoped portal session.
    authScopes: { $all: { can: 'read', apiKey: true } },
    description:
      'A link (valid for one minute) that downloads every delivery matching the filter, newest first, streamed whatever their number: ' +
      'what the delivery list shows (status, event, endpoint, attempts, last outcome), never payloads. For browsers, which cannot add ' +
      'an Authorization header to a download; scripts can GET /exports/deliveries with their key directly.',
    args: {
      filter: t.arg({ type: DeliveryFilterInput }),
      format: t.arg({ type: ExportFormatEnum, required: true }),
    },
    resolve: (_root, args, ctx) => {
      const f = args.filter ?? {};
      return ctx.services.deliveryExport.createLink(
        ctx.requireViewer(),
        {
          ...f,
          endpointId: f.endpointId == null ? null : String(f.endpointId),
          eventId: f.eventId == null ? null : String(f.eventId),
        },
        args.format,
      );
    },
  }),
);
