import { useEffect, useRef } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { waitingFor } from '../../shared/deliveryState';
import { prettyJson } from '../../shared/format';
import { deliveryListLink } from '../../shared/listLocation';
import { Link } from '../../shared/router';
import { usePermissions } from '../../shared/session';
import { Badge, Button, CodeBlock, DeliveryStatusBadge, DescriptionList, EmptyState, ErrorMessage, Loading, Notice, PageHeader, PlanNotice, Section, Time, WaitingState } from '../../shared/ui';
import { AttemptTimeline } from './AttemptTimeline';
import { RequestPanel } from './RequestPanel';
import { DELIVERY_QUERY, ENDPOINT_ATTEMPTS_SUBSCRIPTION, RETRY_DELIVERY, type DeliveryDetailData } from './queries';
import { isReplayable } from './replay';

const PENDING_POLL_MS = 5_000;

/**
 * One delivery: event, payload, every attempt with request headers and response, and "Retry
 * now". It refreshes itself when an attempt of this delivery is recorded (live subscription).
 */
export function DeliveryDetail({ id }: { id: string }) {
  const can = usePermissions();
  const client = useClient();
  const [result, reexecute] = useQuery<{ delivery: DeliveryDetailData }>({ query: DELIVERY_QUERY, variables: { id } });
  const [retry, doRetry] = useMutation(RETRY_DELIVERY);
  const delivery = result.data?.delivery;
  const refresh = useRef(() => reexecute({ requestPolicy: 'network-only' }));
  refresh.current = () => reexecute({ requestPolicy: 'network-only' });
  const endpointId = delivery?.endpoint.id ?? null;

  useEffect(() => {
    if (!endpointId) return;
    const { unsubscribe } = client
      .subscription<{ deliveryAttempts: { id: string; delivery: { id: string } } }>(ENDPOINT_ATTEMPTS_SUBSCRIPTION, { endpointId })
      .subscribe((r) => {
        if (r.data?.deliveryAttempts.delivery.id === id) refresh.current();
      });
    return unsubscribe;
  }, [client, endpointId, id]);

  // A safety net while an attempt may be running: the subscription is the fast path.
  const pending = delivery?.status === 'PENDING';
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => refresh.current(), PENDING_POLL_MS);
    return () => clearInterval(timer);
  }, [pending]);

  const list = deliveryListLink();
  const back = <Link to={list.to}>← {list.label}</Link>;
  if (!delivery) {
    return (
      <>
        <PageHeader title="Delivery" back={back} />
        {result.error ? <ErrorMessage error={result.error} onRetry={refresh.current} /> : <Loading label="Loading the delivery…" />}
      </>
    );
  }

  const canRetry = can.operate && isReplayable(delivery);
  const payload = delivery.event.data;
  const waiting = waitingFor(delivery, delivery.endpoint);

  return (
    <>
      <PageHeader
        back={back}
        documentTitle={`Delivery ${delivery.id}`}
        title={
          <span className="header-meta">
            <span>Delivery</span> <DeliveryStatusBadge status={delivery.status} />
          </span>
        }
        description={<code className="break">{delivery.id}</code>}
        actions={
          canRetry ? (
            <Button variant="primary" onClick={() => doRetry({ id })} busy={retry.fetching} busyLabel="Retrying…">
              Retry now
            </Button>
          ) : null
        }
      />
      {delivery.status === 'DEAD' && <PlanNotice what="operations" />}
      {retry.error && <ErrorMessage error={retry.error} />}
      {retry.data && !retry.error && delivery.status === 'PENDING' && (
        <Notice tone="success">Retry scheduled: the attempt is on its way and appears below when it is recorded.</Notice>
      )}
      <Section title="Summary">
        <DescriptionList
          items={[
            ['Status', <DeliveryStatusBadge status={delivery.status} />],
            ['Event type', <code>{delivery.eventType}</code>],
            [
              'Event id (webhook-id)',
              <Link to={`/events/${delivery.event.id}`} className="break" title="Every endpoint this event went to">
                <code>{delivery.event.id}</code>
              </Link>,
            ],
            delivery.event.eventId ? ['eventId (from the publisher)', <code className="break">{delivery.event.eventId}</code>] : null,
            [
              'Endpoint',
              <Link to={`/endpoints/${delivery.endpoint.id}`} className="break">
                {delivery.endpoint.url}
              </Link>,
            ],
            ['Attempts', delivery.attemptCount],
            delivery.status === 'PENDING' ? ['Next attempt', <WaitingState delivery={delivery} endpoint={delivery.endpoint} long />] : null,
            delivery.orderingKey ? ['Ordering key', <code>{delivery.orderingKey}</code>] : null,
            ['Created', <Time value={delivery.createdAt} mode="absolute" />],
            delivery.completedAt ? ['Completed', <Time value={delivery.completedAt} mode="absolute" />] : null,
            delivery.isTest ? ['Kind', <Badge tone="info">Test event</Badge>] : null,
          ]}
        />
      </Section>
      <Section title="Payload" description="The event's data, as sent in the envelope's data field.">
        {payload != null ? (
          <CodeBlock label="Event payload">{prettyJson(payload)}</CodeBlock>
        ) : delivery.event.payloadPurgedAt ? (
          <p className="muted">
            The payload was purged after the retention period (<Time value={delivery.event.payloadPurgedAt} mode="absolute" />).
          </p>
        ) : !can.seePayloads ? (
          <p className="muted">Payloads are hidden for the viewer role: the API returns no event data to viewer keys.</p>
        ) : (
          <p className="muted">No payload.</p>
        )}
      </Section>
      <Section title="Attempts" description="Oldest first; open one to see the request headers and the response.">
        {delivery.attempts.length === 0 ? (
          <EmptyState title="Not attempted yet">{waiting?.detail ?? 'Nothing was sent for this delivery.'}</EmptyState>
        ) : (
          <AttemptTimeline attempts={delivery.attempts} />
        )}
      </Section>
      {can.seePayloads && <RequestPanel delivery={delivery} />}
    </>
  );
}
