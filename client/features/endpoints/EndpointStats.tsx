import { useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { formatCount, formatDuration, formatPercent } from '../../shared/format';
import { ErrorMessage, LineChart, Loading, Section } from '../../shared/ui';
import { DELIVERY_STATS_QUERY, type StatsBucket } from './queries';
import { STATS_RANGES, statsSeries } from './statsSeries';

const REFRESH_MS = 30_000;

function timeLabel(rangeMs: number) {
  return (t: number): string => {
    const d = new Date(t);
    const pad = (n: number): string => String(n).padStart(2, '0');
    return rangeMs > 86_400_000 ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}h` : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  };
}

/** Success rate and latency (p50, p95) over time, from deliveryStats; refreshed every 30 s. */
export function EndpointStats({ id }: { id: string }) {
  const [rangeKey, setRangeKey] = useState('24h');
  const [tick, setTick] = useState(0);
  const range = STATS_RANGES.find((r) => r.key === rangeKey) ?? STATS_RANGES[1]!;
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  // `tick` moves the window forward; the variables stay stable between ticks.
  const span = useMemo(() => {
    const to = Date.now();
    return { from: to - range.ms, to, tick };
  }, [range, tick]);
  const [result, reexecute] = useQuery<{ deliveryStats: StatsBucket[] }>({
    query: DELIVERY_STATS_QUERY,
    variables: { id, since: new Date(span.from).toISOString(), bucketSeconds: range.bucketSeconds },
  });
  const series = useMemo(() => statsSeries(result.data?.deliveryStats ?? []), [result.data]);
  const formatX = timeLabel(range.ms);
  const gapMs = range.bucketSeconds * 1000 * 1.5;

  return (
    <Section
      title="Delivery health"
      description="Attempts to this endpoint over time."
      actions={
        <label className="toolbar__field toolbar__field--inline">
          <span>Period</span>
          <select value={rangeKey} onChange={(e) => setRangeKey(e.target.value)}>
            {STATS_RANGES.map((r) => (
              <option key={r.key} value={r.key}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {result.error && !result.data && <ErrorMessage error={result.error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {result.fetching && !result.data && <Loading label="Loading statistics…" />}
      {result.data && (
        <>
          <dl className="stats">
            <div>
              <dt>Attempts</dt>
              <dd>{formatCount(series.totals.total)}</dd>
            </div>
            <div>
              <dt>Success rate</dt>
              <dd>{formatPercent(series.totals.rate)}</dd>
            </div>
            <div>
              <dt>Failed</dt>
              <dd>{formatCount(series.totals.failed)}</dd>
            </div>
          </dl>
          <div className="charts">
            <LineChart
              title="Success rate"
              series={[{ name: 'Success rate', color: 'var(--success)', points: series.successRate }]}
              from={span.from}
              to={span.to}
              gapMs={gapMs}
              yMax={100}
              formatY={(v) => `${Math.round(v)}%`}
              formatX={formatX}
            />
            <LineChart
              title="Latency"
              series={[
                { name: 'p50', color: 'var(--accent)', points: series.p50 },
                { name: 'p95', color: 'var(--warning)', points: series.p95, dashed: true },
              ]}
              from={span.from}
              to={span.to}
              gapMs={gapMs}
              formatY={(v) => formatDuration(v)}
              formatX={formatX}
            />
          </div>
        </>
      )}
    </Section>
  );
}
