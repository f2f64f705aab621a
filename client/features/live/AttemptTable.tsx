import { formatClock, formatDuration, shortUrl } from '../../shared/format';
import { Link } from '../../shared/router';
import { AttemptOutcomeBadge, Badge, DataTable, DeliveryStatusBadge, type Column } from '../../shared/ui';
import type { LiveAttempt } from './queries';

const TRIGGERS: Record<LiveAttempt['trigger'], string> = { SCHEDULED: 'scheduled', MANUAL: 'manual', TEST: 'test' };

/** Attempts as they arrive, newest first; each row links to its delivery. */
export function AttemptTable({ attempts, showEndpoint = true, caption }: { attempts: LiveAttempt[]; showEndpoint?: boolean; caption: string }) {
  const columns: Column<LiveAttempt>[] = [
    {
      key: 'time',
      header: 'Time',
      render: (a) => (
        <time dateTime={a.startedAt} className="mono small">
          {formatClock(a.startedAt)}
        </time>
      ),
    },
    ...(showEndpoint
      ? [
          {
            key: 'endpoint',
            header: 'Endpoint',
            className: 'cell-main',
            render: (a: LiveAttempt) => (
              <Link to={`/endpoints/${a.endpoint.id}`} title={a.endpoint.url}>
                {shortUrl(a.endpoint.url, 40)}
              </Link>
            ),
          },
        ]
      : []),
    { key: 'type', header: 'Event type', render: (a) => <code>{a.eventType}</code> },
    {
      key: 'attempt',
      header: 'Attempt',
      render: (a) => (
        <span>
          #{a.attemptNumber} {a.trigger !== 'SCHEDULED' && <Badge tone="info">{TRIGGERS[a.trigger]}</Badge>}
        </span>
      ),
    },
    {
      key: 'outcome',
      header: 'Outcome',
      render: (a) => (
        <span title={a.errorMessage ?? undefined}>
          <AttemptOutcomeBadge succeeded={a.succeeded} responseStatus={a.responseStatus} errorClass={a.errorClass} />
        </span>
      ),
    },
    { key: 'latency', header: 'Latency', className: 'num', render: (a) => formatDuration(a.durationMs) },
    { key: 'status', header: 'Delivery', render: (a) => <DeliveryStatusBadge status={a.delivery.status} /> },
    {
      key: 'link',
      header: 'Details',
      render: (a) => (
        <Link to={`/deliveries/${a.delivery.id}`} aria-label={`Delivery ${a.delivery.id}`}>
          View
        </Link>
      ),
    },
  ];
  return <DataTable caption={caption} columns={columns} rows={attempts} rowKey={(a) => a.id} rowClassName={(a) => (a.succeeded ? undefined : 'row--failed')} />;
}
