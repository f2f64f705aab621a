import { useMemo } from 'react';
import { useQuery } from 'urql';
import { formatPercent } from '../../shared/format';
import { Time } from '../../shared/ui';
import { ENDPOINT_HEALTH_QUERY } from './queries';

interface HealthData {
  deliveryStats: { total: number; succeeded: number; failed: number }[];
  deliveries: { edges: { node: { lastAttemptAt: string | null; lastAttempt: { succeeded: boolean; responseStatus: number | null; errorClass: string | null } | null } }[] };
}

/** Success rate over the last 24 h (from deliveryStats) and when the last attempt was. */
export function EndpointHealthCell({ id }: { id: string }) {
  // Fixed per mount: a `since` that changed every render would refetch in a loop.
  const since = useMemo(() => new Date(Date.now() - 24 * 3_600_000).toISOString(), []);
  const [result] = useQuery<HealthData>({ query: ENDPOINT_HEALTH_QUERY, variables: { id, since } });
  if (result.fetching && !result.data) return <span className="muted">…</span>;
  if (!result.data) return <span className="muted" title={result.error?.message}>—</span>;
  const totals = result.data.deliveryStats.reduce((acc, b) => ({ total: acc.total + b.total, succeeded: acc.succeeded + b.succeeded }), { total: 0, succeeded: 0 });
  // The newest deliveries may not be attempted yet (circuit open, paused): take the latest attempt among a few.
  const attempted = result.data.deliveries.edges
    .map((e) => e.node)
    .filter((d) => d.lastAttemptAt)
    .sort((a, b) => Date.parse(b.lastAttemptAt!) - Date.parse(a.lastAttemptAt!));
  const last = attempted[0];
  const rate = totals.total ? totals.succeeded / totals.total : null;
  return (
    <div className="health-cell">
      <span className={rate == null ? 'muted' : rate >= 0.99 ? 'text-success' : rate >= 0.9 ? 'text-warning' : 'text-danger'}>
        {rate == null ? 'No attempts (24 h)' : `${formatPercent(rate)} of ${totals.total} (24 h)`}
      </span>
      <span className="muted small">
        {last ? (
          <>
            Last attempt <Time value={last.lastAttemptAt} />
            {last.lastAttempt && !last.lastAttempt.succeeded ? ' · failed' : ''}
          </>
        ) : result.data.deliveries.edges.length ? (
          'Newest deliveries not attempted yet'
        ) : (
          'No deliveries yet'
        )}
      </span>
    </div>
  );
}
