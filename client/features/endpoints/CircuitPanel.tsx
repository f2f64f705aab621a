import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { formatCount, formatDuration } from '../../shared/format';
import { Link } from '../../shared/router';
import { usePermissions } from '../../shared/session';
import { AttemptOutcomeBadge, Badge, Button, ConfirmDialog, DescriptionList, ErrorMessage, Section, Time } from '../../shared/ui';
import { ENDPOINT_BACKLOG_QUERY, PROBE_ENDPOINT, RESUME_ENDPOINT, type Backlog, type ProbeAttempt } from './queries';
import { useEndpoint } from './useEndpoint';
import { useHealthChanges } from './useHealthChanges';

const BACKLOG_REFRESH_MS = 3_000;

/**
 * An open circuit, and what to do about it: since when and why it is open, when the next probe
 * goes by itself, how many deliveries wait behind it and since when, and "Probe now"
 * (probeEndpoint: the probe goes at once and its outcome shows here, then the circuit closes and
 * the backlog drains, or it stays open). The panel follows breaker changes live.
 */
export function CircuitPanel({ id }: { id: string }) {
  const can = usePermissions();
  const { endpoint, refetch } = useEndpoint(id);
  const [probe, doProbe] = useMutation<{ probeEndpoint: ProbeAttempt }>(PROBE_ENDPOINT);
  const [closing, close] = useMutation(RESUME_ENDPOINT);
  const [confirmClose, setConfirmClose] = useState(false);
  const [closedByHand, setClosedByHand] = useState(false);
  const open = endpoint !== null && endpoint.active && endpoint.circuitState !== 'CLOSED';
  // After a probe (or a close) the panel stays to show the outcome and the backlog draining.
  const visible = open || probe.data !== undefined || closedByHand;
  const [backlogResult, refetchBacklog] = useQuery<{ endpoint: { id: string; backlog: Backlog } }>({
    query: ENDPOINT_BACKLOG_QUERY,
    variables: { id },
    pause: !visible,
    requestPolicy: 'network-only',
  });
  const refreshBacklog = useRef(() => refetchBacklog({ requestPolicy: 'network-only' }));
  refreshBacklog.current = () => refetchBacklog({ requestPolicy: 'network-only' });
  useHealthChanges(id, () => {
    refetch();
    refreshBacklog.current();
  });
  useEffect(() => {
    if (!visible) return;
    const timer = setInterval(() => refreshBacklog.current(), BACKLOG_REFRESH_MS);
    return () => clearInterval(timer);
  }, [visible]);

  if (!endpoint || !visible) return null;
  const backlog = backlogResult.data?.endpoint.backlog ?? null;
  const attempt = probe.data?.probeEndpoint;
  const probing = endpoint.circuitState === 'HALF_OPEN';

  const runProbe = async (): Promise<void> => {
    setClosedByHand(false);
    await doProbe({ id });
    refetch();
    refreshBacklog.current();
  };

  return (
    <Section
      title="Circuit breaker"
      description={
        open
          ? 'Deliveries to this endpoint are held: nothing is sent until a probe request succeeds.'
          : 'The circuit is closed again: deliveries flow and the ones that waited are being sent.'
      }
      actions={
        can.operate && open ? (
          <>
            <Button variant="primary" onClick={runProbe} busy={probe.fetching} busyLabel="Probing…">
              Probe now
            </Button>
            <Button variant="ghost" onClick={() => setConfirmClose(true)} disabled={probe.fetching}>
              Close without probing…
            </Button>
          </>
        ) : null
      }
    >
      <DescriptionList
        items={[
          [
            'State',
            <span className="header-meta">
              <Badge tone={open ? (probing ? 'warning' : 'danger') : 'success'}>{open ? (probing ? 'Half open: probing' : 'Open') : 'Closed'}</Badge>
              {open && endpoint.circuitOpenedAt && (
                <span className="small">
                  since <Time value={endpoint.circuitOpenedAt} /> ({endpoint.consecutiveFailures} consecutive failures)
                </span>
              )}
            </span>,
          ],
          open && !probing
            ? ['Next probe', endpoint.circuitOpenUntil ? <span>by itself <Time value={endpoint.circuitOpenUntil} /></span> : 'due now']
            : null,
          [
            'Waiting deliveries',
            backlog ? (
              <span data-testid="backlog">
                {backlog.count === 0 ? (
                  'None'
                ) : (
                  <>
                    <strong>
                      {formatCount(backlog.count)}
                      {backlog.capped ? '+' : ''}
                    </strong>{' '}
                    {backlog.count === 1 ? 'delivery waits' : 'deliveries wait'}, the oldest since <Time value={backlog.oldestCreatedAt} mode="absolute" /> (
                    <Time value={backlog.oldestCreatedAt} />){' · '}
                    <Link to={`/deliveries?endpoint=${encodeURIComponent(id)}&status=PENDING`}>See them</Link>
                  </>
                )}
              </span>
            ) : (
              <span className="muted">Counting…</span>
            ),
          ],
        ]}
      />
      {probe.fetching && (
        <p className="muted small" role="status">
          Sending one probe request: the next waiting delivery, or a webhook.test event when none is due. This takes at most the endpoint’s timeout (
          {formatDuration(endpoint.timeoutMs)}).
        </p>
      )}
      {probe.error && <ErrorMessage error={probe.error} title="The probe could not be sent" />}
      {closing.error && <ErrorMessage error={closing.error} />}
      {attempt && !probe.fetching && (
        <div className="test-result" role="status" aria-label="Probe result">
          <DescriptionList
            items={[
              ['Probe', <AttemptOutcomeBadge succeeded={attempt.succeeded} responseStatus={attempt.responseStatus} errorClass={attempt.errorClass} />],
              ['Sent', <span>{attempt.trigger === 'TEST' ? 'a webhook.test event (nothing was due in the backlog)' : <>the waiting delivery of <code>{attempt.delivery.eventType}</code></>}</span>],
              ['Latency', formatDuration(attempt.durationMs)],
              attempt.errorMessage ? ['Error', attempt.errorMessage] : null,
              ['Outcome', attempt.succeeded ? 'The circuit closed; the waiting deliveries are being sent.' : 'The circuit stays open; the next probe waits twice as long (at most 1 h).'],
              ['Delivery', <Link to={`/deliveries/${attempt.delivery.id}`}>View the probe’s delivery</Link>],
            ]}
          />
        </div>
      )}
      {closedByHand && !open && <p role="status">Circuit closed by hand: the waiting deliveries are being sent.</p>}
      {!open && backlog && backlog.count > 0 && (
        <p className="muted small">
          Deliveries that failed before the circuit opened keep their scheduled retry.{' '}
          <Link to={`/deliveries?endpoint=${encodeURIComponent(id)}&status=PENDING`}>Replay them from the deliveries list</Link> to send them now.
        </p>
      )}
      <ConfirmDialog
        open={confirmClose}
        title="Close the circuit without probing?"
        confirmLabel="Close circuit"
        busy={closing.fetching}
        onCancel={() => setConfirmClose(false)}
        onConfirm={async () => {
          const outcome = await close({ id });
          setConfirmClose(false);
          if (!outcome.error) setClosedByHand(true);
          refetch();
        }}
      >
        <p>
          Every waiting delivery ({backlog ? formatCount(backlog.count) : 'all of them'}) is sent at once, at up to {formatCount(endpoint.maxInFlight)} requests in flight. If the
          receiver is still failing they fail again and the circuit reopens after {endpoint.circuitBreaker.failureThreshold} failures. “Probe now” tries one request first.
        </p>
      </ConfirmDialog>
    </Section>
  );
}
