import { formatClock, formatDuration, shortUrl } from '../../shared/format';
import { Link } from '../../shared/router';
import { AttemptOutcomeBadge, Badge, DataTable, DeliveryStatusBadge, type Column } from '../../shared/ui';
import type { LiveAttempt } from './queries';

const TRIGGERS: Record<LiveAttempt['trigger'], string> = { SCHEDULED: 'scheduled', MANUAL: 'manual', TEST: 'test' };

/**
 * Attempts as they arrive, newest first; each row links to its delivery. Few, dense columns (time;
 * event and attempt; outcome and latency; delivery), so the table fits an endpoint page's card at
 * 1280 px and a row stays two or three lines on a phone.
 */
export function AttemptTable({ attempts, showEndpoint = true, caption }: { attempts: LiveAttempt[]; showEndpoint?: boolean; caption: string }) {
  const columns: Column<LiveAttempt>[] = [
    {
      key: 'time',
      header: 'Time',
      className: 'col-time',
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
            className: 'col-endpoint',
            render: (a: LiveAttempt) => (
              <Link to={`/endpoints/${a.endpoint.id}`} title={a.endpoint.url}>
                {shortUrl(a.endpoint.url, 40)}
              </Link>
            ),
          },
        ]
      : []),
    {
      key: 'event',
      header: 'Event',
      className: 'col-event',
      render: (a) => (
        <span className="attempt-event">
          <code>{a.eventType}</code>{' '}
          <span className="muted small">#{a.attemptNumber}</span> {a.trigger !== 'SCHEDULED' && <Badge tone="info">{TRIGGERS[a.trigger]}</Badge>}
        </span>
      ),
    },
    {
      key: 'outcome',
      header: 'Outcome',
      className: 'col-outcome',
      render: (a) => (
        <span className="attempt-outcome" title={a.errorMessage ?? undefined}>
          <AttemptOutcomeBadge succeeded={a.succeeded} responseStatus={a.responseStatus} errorClass={a.errorClass} />
          <span className="muted small">{formatDuration(a.durationMs)}</span>
        </span>
      ),
    },
    {
      key: 'delivery',
      header: 'Delivery',
      className: 'col-delivery',
      render: (a) => (
        <span className="attempt-delivery">
          <DeliveryStatusBadge status={a.delivery.status} />
          <Link to={`/deliveries/${a.delivery.id}`} aria-label={`Delivery ${a.delivery.id}`}>
            View
          </Link>
        </span>
      ),
    },
  ];
  return (
    <DataTable
      caption={caption}
      className="table--attempts"
      columns={columns}
      rows={attempts}
      rowKey={(a) => a.id}
      rowClassName={(a) => (a.succeeded ? undefined : 'row--failed')}
    />
  );
}
