import { useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { formatCount, formatDuration, formatPercent, toLocalInput } from '../../shared/format';
import { RANGE_PRESETS, type RangeKey } from '../../shared/timeRange';
import { ErrorMessage, Loading, Section, TimeSeriesChart, type ChartSeriesSpec } from '../../shared/ui';
import { DELIVERY_STATS_QUERY, type StatsBucket } from './queries';
import { chartWindow, statsSeries } from './statsSeries';
import { useEndpoint } from './useEndpoint';

const REFRESH_MS = 30_000;
const CLASS_COLORS: Record<string, string> = {
  HTTP_STATUS: 'var(--danger)',
  TIMEOUT: 'var(--warning)',
  CONNECTION: '#7c3aed',
  TLS: '#0e7490',
  DNS: '#be185d',
  BLOCKED_ADDRESS: '#4b5563',
};
const percent = (v: number): string => `${Math.round(v)}%`;
const count = (v: number): string => formatCount(v);

/**
 * Attempts to this endpoint over time, from deliveryStats: volume (succeeded and failed), failures
 * by error class, success rate and latency (p50, p95, p99). Presets (1 h, 24 h, 7 d) end now and
 * move forward every 30 s; a custom range is fixed. The window never starts before the endpoint
 * existed.
 */
export function EndpointStats({ id }: { id: string }) {
  const { endpoint } = useEndpoint(id);
  const [range, setRange] = useState<RangeKey>('24h');
  const [custom, setCustom] = useState<{ since: string; until: string }>(() => ({ since: toLocalInput(new Date(Date.now() - 86_400_000)), until: toLocalInput(new Date()) }));
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (range === 'custom') return;
    const timer = setInterval(() => setTick((t) => t + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, [range]);
  const createdAtMs = endpoint ? Date.parse(endpoint.createdAt) : 0;
  // `tick` moves a preset window forward; the variables stay stable between ticks.
  const window = useMemo(() => chartWindow(range, custom, createdAtMs, Date.now()), [range, custom, createdAtMs, tick]);
  const planned = 'error' in window ? null : window;
  const [result, reexecute] = useQuery<{ deliveryStats: StatsBucket[] }>({
    query: DELIVERY_STATS_QUERY,
    variables: planned
      ? { id, since: new Date(planned.sinceMs).toISOString(), until: new Date(planned.untilMs).toISOString(), bucketSeconds: planned.bucketSeconds }
      : { id, since: new Date(0).toISOString(), bucketSeconds: 60 },
    pause: !planned || !endpoint,
  });
  const series = useMemo(() => statsSeries(result.data?.deliveryStats ?? []), [result.data]);
  const volume = useMemo<ChartSeriesSpec[]>(
    () => [
      { label: 'Succeeded', color: 'var(--success)', values: series.succeeded },
      { label: 'Failed', color: 'var(--danger)', values: series.failed },
    ],
    [series],
  );
  const classes = useMemo<ChartSeriesSpec[]>(
    () => series.errorClasses.map((c) => ({ label: c.errorClass, color: CLASS_COLORS[c.errorClass] ?? 'var(--muted)', values: c.values })),
    [series],
  );
  const rate = useMemo<ChartSeriesSpec[]>(
    () => [{ label: 'Success rate', color: 'var(--success)', values: series.successRate, total: series.totals.rate == null ? null : series.totals.rate * 100 }],
    [series],
  );
  const latency = useMemo<ChartSeriesSpec[]>(
    () => [
      { label: 'p50', color: 'var(--accent)', values: series.p50 },
      { label: 'p95', color: 'var(--warning)', values: series.p95, dash: [6, 4] },
      { label: 'p99', color: 'var(--danger)', values: series.p99, dash: [2, 3] },
    ],
    [series],
  );

  const common = planned ? { times: series.times, fromMs: planned.sinceMs, toMs: planned.untilMs, bucketMs: planned.bucketSeconds * 1000 } : null;
  return (
    <Section
      title="Delivery health"
      description={
        planned?.sinceCreation
          ? 'Attempts to this endpoint since it was created (the period asked for starts earlier).'
          : 'Attempts to this endpoint over time.'
      }
      actions={
        <div className="range-picker" role="group" aria-label="Period">
          {RANGE_PRESETS.map((p) => (
            <button key={p.key} type="button" className={`btn btn--sm ${range === p.key ? 'btn--primary' : 'btn--secondary'}`} aria-pressed={range === p.key} onClick={() => setRange(p.key)} title={p.label}>
              {p.short}
            </button>
          ))}
          <button type="button" className={`btn btn--sm ${range === 'custom' ? 'btn--primary' : 'btn--secondary'}`} aria-pressed={range === 'custom'} onClick={() => setRange('custom')}>
            Custom
          </button>
        </div>
      }
    >
      {range === 'custom' && (
        <div className="toolbar range-picker__custom">
          <label className="toolbar__field">
            <span>From</span>
            <input type="datetime-local" value={custom.since} onChange={(e) => setCustom((c) => ({ ...c, since: e.target.value }))} />
          </label>
          <label className="toolbar__field">
            <span>To</span>
            <input
              type="datetime-local"
              value={custom.until}
              onChange={(e) => setCustom((c) => ({ ...c, until: e.target.value }))}
              aria-invalid={'error' in window ? true : undefined}
              aria-describedby={'error' in window ? `stats-range-error-${id}` : undefined}
            />
          </label>
          {'error' in window && (
            <p className="field__error" id={`stats-range-error-${id}`} role="alert">
              {window.error}
            </p>
          )}
        </div>
      )}
      {result.error && !result.data && <ErrorMessage error={result.error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {result.fetching && !result.data && <Loading label="Loading statistics…" />}
      {result.data && common && (
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
            <div>
              <dt>Worst p95</dt>
              <dd>{formatDuration(series.totals.worstP95)}</dd>
            </div>
          </dl>
          <div className="charts">
            <TimeSeriesChart title="Volume" kind="bars" series={volume} formatY={count} {...common} />
            <TimeSeriesChart title="Failures by error class" kind="bars" series={classes} formatY={count} emptyText="No failed attempts in this period" {...common} />
            <TimeSeriesChart title="Success rate" series={rate} yMax={100} formatY={percent} {...common} />
            <TimeSeriesChart title="Latency" series={latency} formatY={formatDuration} {...common} />
          </div>
        </>
      )}
    </Section>
  );
}
