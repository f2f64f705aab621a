import { useState } from 'react';
import { EndpointSelect } from '../../shared/EndpointSelect';
import { useSearchParams } from '../../shared/router';
import { Button, EmptyState, ErrorMessage, PageHeader } from '../../shared/ui';
import { AttemptTable } from './AttemptTable';
import { LiveIndicator } from './LiveIndicator';
import type { DeliveryStatus } from './queries';
import { useAttemptStream } from './useAttemptStream';

const OUTCOMES: Record<string, { label: string; statuses: DeliveryStatus[] | null }> = {
  any: { label: 'Any outcome', statuses: null },
  succeeded: { label: 'Succeeded', statuses: ['SUCCEEDED'] },
  failed: { label: 'Failed (retrying or dead)', statuses: ['PENDING', 'DEAD'] },
  retrying: { label: 'Failed, will retry', statuses: ['PENDING'] },
  dead: { label: 'Dead-lettered', statuses: ['DEAD'] },
};

/**
 * Every delivery attempt of the organization as it happens. Endpoint and outcome filter on the
 * server (the subscription restarts); the event-type filter applies to what has arrived.
 */
export function LiveStream() {
  const [params, setParams] = useSearchParams();
  const endpointId = params.get('endpoint') ?? '';
  const outcome = params.get('outcome') ?? 'any';
  const [typeFilter, setTypeFilter] = useState('');
  const [paused, setPaused] = useState(false);
  const stream = useAttemptStream({ endpointId: endpointId || null, statuses: OUTCOMES[outcome]?.statuses ?? null, paused });

  // Rows received under an earlier filter stay in memory but are shown only if they match.
  const type = typeFilter.trim().toLowerCase();
  const statuses = OUTCOMES[outcome]?.statuses ?? null;
  const rows = stream.attempts.filter(
    (a) =>
      (!endpointId || a.endpoint.id === endpointId) &&
      (!statuses || statuses.includes(a.delivery.status)) &&
      (!type || a.eventType.toLowerCase().includes(type)),
  );

  return (
    <>
      <PageHeader
        title="Live stream"
        description="Every delivery attempt of your organization, as it is recorded."
        actions={
          <>
            <LiveIndicator paused={paused} />
            <Button variant={paused ? 'primary' : 'secondary'} aria-pressed={paused} onClick={() => setPaused((p) => !p)}>
              {paused ? `Resume stream${stream.buffered ? ` (${stream.buffered} new)` : ''}` : 'Pause stream'}
            </Button>
            <Button variant="ghost" onClick={stream.clear} disabled={stream.attempts.length === 0}>
              Clear
            </Button>
          </>
        }
      />
      <div className="toolbar" role="search" aria-label="Filter the live stream">
        <EndpointSelect value={endpointId} onChange={(endpoint) => setParams({ endpoint })} />
        <label className="toolbar__field">
          <span>Outcome</span>
          <select value={outcome} onChange={(e) => setParams({ outcome: e.target.value === 'any' ? null : e.target.value })}>
            {Object.entries(OUTCOMES).map(([key, o]) => (
              <option key={key} value={key}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label className="toolbar__field">
          <span>Event type</span>
          <input type="search" value={typeFilter} onChange={(e) => setTypeFilter(e.target.value)} placeholder="e.g. pipeline.run" />
        </label>
      </div>
      {paused && (
        <p className="alert alert--info" role="status">
          Paused: new attempts are buffered{stream.buffered ? ` (${stream.buffered} so far)` : ''} and appear when you resume
          {stream.dropped ? `; ${stream.dropped} older ones were dropped because the buffer holds 1,000` : ''}.
        </p>
      )}
      {stream.error && <ErrorMessage error={stream.error} title="The live stream stopped" />}
      {rows.length === 0 ? (
        <EmptyState title={stream.attempts.length ? 'No attempt received yet matches these filters' : 'Waiting for attempts…'}>
          Attempts appear here as soon as they are recorded; nothing is loaded from before you opened the page. The newest 500 are kept.
        </EmptyState>
      ) : (
        <AttemptTable attempts={rows} caption="Live delivery attempts" />
      )}
    </>
  );
}
