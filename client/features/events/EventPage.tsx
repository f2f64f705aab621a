import { useEffect, useRef, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { isReplayable } from '../../shared/deliveryState';
import { errorMessage } from '../../shared/errors';
import { prettyJson, shortUrl } from '../../shared/format';
import { deliveryListLink } from '../../shared/listLocation';
import { Link } from '../../shared/router';
import { usePermissions } from '../../shared/session';
import {
  AttemptOutcomeBadge,
  Button,
  CodeBlock,
  CopyButton,
  DataTable,
  DeliveryStatusBadge,
  DescriptionList,
  EmptyState,
  ErrorMessage,
  Loading,
  Notice,
  PageHeader,
  PlanNotice,
  Section,
  Time,
  WaitingState,
  type Column,
} from '../../shared/ui';
import { EVENT_QUERY, RETRY_EVENT_DELIVERY, type EventDelivery, type EventDetail } from './queries';

const PENDING_POLL_MS = 5_000;

/**
 * One event across every endpoint it went to: its payload, and per endpoint the delivery's
 * status, attempts and last error, each retryable from here. Refreshes while any is pending.
 */
export function EventPage({ id }: { id: string }) {
  const can = usePermissions();
  const client = useClient();
  const [result, reexecute] = useQuery<{ event: EventDetail }>({ query: EVENT_QUERY, variables: { id } });
  const [retrying, setRetrying] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<{ tone: 'success' | 'warning'; text: string } | null>(null);
  const refresh = useRef(() => reexecute({ requestPolicy: 'network-only' }));
  refresh.current = () => reexecute({ requestPolicy: 'network-only' });
  const event = result.data?.event;
  const pending = event?.deliveries.some((d) => d.status === 'PENDING') ?? false;

  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => refresh.current(), PENDING_POLL_MS);
    return () => clearInterval(timer);
  }, [pending]);

  const list = deliveryListLink();
  const back = <Link to={list.to}>← {list.label}</Link>;
  if (!event) {
    return (
      <>
        <PageHeader title="Event" back={back} />
        {result.error ? <ErrorMessage error={result.error} onRetry={refresh.current} /> : <Loading label="Loading the event…" />}
      </>
    );
  }

  const retry = async (deliveries: EventDelivery[]): Promise<void> => {
    setRetrying(new Set(deliveries.map((d) => d.id)));
    setMessage(null);
    const failures: string[] = [];
    for (const d of deliveries) {
      const outcome = await client.mutation(RETRY_EVENT_DELIVERY, { id: d.id }).toPromise();
      if (outcome.error) failures.push(`${shortUrl(d.endpoint.url, 40)}: ${errorMessage(outcome.error)}`);
    }
    setRetrying(new Set());
    const ok = deliveries.length - failures.length;
    setMessage(
      failures.length
        ? { tone: 'warning', text: `${ok} retried; ${failures.length} could not be: ${failures.join(' ')}` }
        : { tone: 'success', text: `${ok === 1 ? 'The delivery is' : `${ok} deliveries are`} being retried now.` },
    );
    refresh.current();
  };

  // A retry to a paused or disabled endpoint would only wait there: offered once it is active again.
  const replayable = event.deliveries.filter((d) => isReplayable(d) && d.endpoint.active);
  const columns: Column<EventDelivery>[] = [
    {
      key: 'endpoint',
      header: 'Endpoint',
      className: 'cell-main',
      render: (d) => (
        <span className="stack-xs">
          <Link to={`/endpoints/${d.endpoint.id}`} title={d.endpoint.url} className="break">
            {shortUrl(d.endpoint.url, 48)}
          </Link>
          {d.endpoint.description && <span className="muted small">{d.endpoint.description}</span>}
        </span>
      ),
    },
    { key: 'status', header: 'Status', render: (d) => <DeliveryStatusBadge status={d.status} /> },
    { key: 'attempts', header: 'Attempts', className: 'num', render: (d) => d.attemptCount },
    {
      key: 'last',
      header: 'Last attempt',
      render: (d) =>
        d.lastAttempt ? (
          <span className="stack-xs stack-start">
            <AttemptOutcomeBadge succeeded={d.lastAttempt.succeeded} responseStatus={d.lastAttempt.responseStatus} errorClass={d.lastAttempt.errorClass} />
            {d.lastAttempt.errorMessage && <span className="small break">{d.lastAttempt.errorMessage}</span>}
            <span className="muted small">
              <Time value={d.lastAttempt.startedAt} />
            </span>
          </span>
        ) : (
          <span className="muted">Not attempted yet</span>
        ),
    },
    { key: 'next', header: 'Next', render: (d) => <WaitingState delivery={d} endpoint={d.endpoint} /> },
    {
      key: 'actions',
      header: 'Actions',
      render: (d) => (
        <span className="row-actions">
          <Link to={`/deliveries/${d.id}`} aria-label={`Delivery to ${d.endpoint.url}`}>
            View
          </Link>
          {can.operate && isReplayable(d) && !d.endpoint.active && <span className="muted small">Endpoint paused or disabled</span>}
          {can.operate && isReplayable(d) && d.endpoint.active && (
            <Button size="sm" onClick={() => retry([d])} busy={retrying.has(d.id)} busyLabel="Retrying…" aria-label={`Retry the delivery to ${d.endpoint.url}`}>
              Retry
            </Button>
          )}
        </span>
      ),
    },
  ];

  const dead = event.deliveries.filter((d) => d.status === 'DEAD').length;
  return (
    <>
      <PageHeader
        back={back}
        documentTitle={`Event ${event.type}`}
        title={
          <span className="header-meta">
            <span>Event</span> <code>{event.type}</code>
          </span>
        }
        description={
          <span className="header-meta">
            <code className="break">{event.id}</code>
            <CopyButton value={event.id} label="Copy the event id" />
          </span>
        }
        actions={
          can.operate && replayable.length > 1 ? (
            <Button variant="primary" onClick={() => retry(replayable)} busy={retrying.size > 1} busyLabel="Retrying…">
              Retry {replayable.length} failed deliveries
            </Button>
          ) : null
        }
      />
      {dead > 0 && <PlanNotice what="operations" />}
      {message && <Notice tone={message.tone}>{message.text}</Notice>}
      <Section title="Summary">
        <DescriptionList
          items={[
            ['Event type', <code>{event.type}</code>],
            ['Event id (webhook-id)', <code className="break">{event.id}</code>],
            event.eventId ? ['eventId (from the publisher)', <code className="break">{event.eventId}</code>] : null,
            event.orderingKey ? ['Ordering key', <code className="break">{event.orderingKey}</code>] : null,
            ['Published', <Time value={event.createdAt} mode="absolute" />],
            [
              'Delivered to',
              event.deliveries.length === 0
                ? 'No endpoint (none was subscribed, active and matching when it was published)'
                : `${event.deliveries.length} endpoint${event.deliveries.length === 1 ? '' : 's'}: ${summarize(event.deliveries)}`,
            ],
          ]}
        />
      </Section>
      <Section title="Endpoints" description="Each endpoint the event was routed to, and how its delivery went.">
        {event.deliveries.length === 0 ? (
          <EmptyState title="No deliveries">No endpoint matched this event type when it was published.</EmptyState>
        ) : (
          <DataTable caption="Deliveries of this event" columns={columns} rows={event.deliveries} rowKey={(d) => d.id} rowClassName={(d) => (d.status === 'DEAD' ? 'row--failed' : undefined)} />
        )}
      </Section>
      <Section title="Payload" description="The event's data, as sent in the envelope's data field.">
        {event.data != null ? (
          <CodeBlock label="Event payload">{prettyJson(event.data)}</CodeBlock>
        ) : event.payloadPurgedAt ? (
          <p className="muted">
            The payload was purged after the retention period (<Time value={event.payloadPurgedAt} mode="absolute" />).
          </p>
        ) : !can.seePayloads ? (
          <p className="muted">Payloads are hidden for the viewer role: the API returns no event data to viewer keys.</p>
        ) : (
          <p className="muted">No payload.</p>
        )}
      </Section>
    </>
  );
}

function summarize(deliveries: EventDelivery[]): string {
  const counts = new Map<string, number>();
  for (const d of deliveries) counts.set(d.status, (counts.get(d.status) ?? 0) + 1);
  const words: Record<string, string> = { SUCCEEDED: 'succeeded', PENDING: 'pending', DEAD: 'dead', CANCELLED: 'cancelled' };
  return [...counts].map(([status, n]) => `${n} ${words[status] ?? status.toLowerCase()}`).join(', ');
}
