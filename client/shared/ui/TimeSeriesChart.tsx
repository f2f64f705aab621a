import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeriesSpec {
  label: string;
  /** A CSS colour or custom property, e.g. "var(--success)". */
  color: string;
  /** One value per bucket; null: no data (a line breaks there). */
  values: (number | null)[];
  dash?: number[];
  /** Shown in the legend when the cursor is not on a bucket; default: the sum for bars, nothing for lines. */
  total?: number | null;
}

const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** A CSS colour, custom properties resolved (canvas cannot read var()). */
function cssColor(color: string): string {
  const custom = /^var\((--[\w-]+)\)$/.exec(color);
  if (!custom) return color;
  return getComputedStyle(document.documentElement).getPropertyValue(custom[1]!).trim() || '#888';
}

/** Stacked bars: series i is drawn up to the sum of series 0..i (the tallest first, underneath). */
function accumulate(series: ChartSeriesSpec[]): (number | null)[][] {
  const sums: (number | null)[][] = [];
  series.forEach((s, i) => sums.push(s.values.map((v, j) => (v == null && i === 0 ? null : (i ? (sums[i - 1]![j] ?? 0) : 0) + (v ?? 0)))));
  return sums;
}

/**
 * A time-series chart drawn by uPlot: lines, or stacked bars (one bar per bucket, left edge at the
 * bucket start). uPlot spaces the time axis by the room it has (labels never collide, whatever the
 * range and the screen width) and keeps a legend with the values under the cursor. The rendered
 * x-axis labels are also written to `data-x-ticks` (position, text) for tests.
 */
export function TimeSeriesChart({
  title,
  times,
  series,
  fromMs,
  toMs,
  bucketMs,
  kind = 'line',
  yMax,
  formatY,
  height = 190,
  emptyText = 'No attempts in this period',
}: {
  title: string;
  /** Bucket starts, epoch ms, ascending. */
  times: number[];
  series: ChartSeriesSpec[];
  fromMs: number;
  toMs: number;
  bucketMs: number;
  kind?: 'line' | 'bars';
  /** Fixed top of the y axis (e.g. 100 for percentages); otherwise from the data. */
  yMax?: number;
  formatY: (v: number) => string;
  height?: number;
  emptyText?: string;
}) {
  const holder = useRef<HTMLDivElement>(null);
  const figure = useRef<HTMLElement>(null);
  // Formatting is read when drawing; a new function each render must not rebuild the chart.
  const format = useRef(formatY);
  format.current = formatY;
  const empty = series.every((s) => s.values.every((v) => v == null || (kind === 'bars' && v === 0)));

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const bars = kind === 'bars';
    const drawn = bars ? accumulate(series) : series.map((s) => s.values);
    // Stacks are drawn tallest first so each later (shorter) series covers the part below it.
    const order = bars ? series.map((_, i) => series.length - 1 - i) : series.map((_, i) => i);
    const barPath = uPlot.paths.bars?.({ size: [0.85, 64], align: 1 });
    const opts: uPlot.Options = {
      width: Math.max(220, el.clientWidth),
      height,
      padding: [10, 12, 0, 4],
      cursor: { drag: { x: false, y: false }, points: { show: !bars } },
      legend: { live: true },
      scales: {
        x: { time: true, range: () => [fromMs / 1000, toMs / 1000] },
        y: { range: (_u, _min, max) => [0, yMax ?? (max > 0 ? max * 1.1 : 1)] },
      },
      axes: [
        { font: AXIS_FONT, stroke: cssColor('var(--muted)'), grid: { show: false }, ticks: { show: true, size: 4 }, space: 70 },
        {
          font: AXIS_FONT,
          stroke: cssColor('var(--muted)'),
          grid: { stroke: cssColor('var(--border)'), width: 1 },
          size: 58,
          values: (_u, splits) => splits.map((v) => format.current(v)),
          space: 32,
        },
      ],
      series: [
        // Not hovering: the legend sums up the whole window (totals for bars, a line's overall value when it has one).
        { label: 'At', value: (_u, v) => (v == null ? 'whole period' : new Date(v * 1000).toLocaleString()) },
        ...order.map((i) => {
          const s = series[i]!;
          const color = cssColor(s.color);
          return {
            label: s.label,
            stroke: color,
            width: bars ? 0 : 2,
            dash: s.dash,
            fill: bars ? color : undefined,
            paths: bars ? barPath : undefined,
            spanGaps: false,
            points: bars ? { show: false } : { show: (u: uPlot) => u.data[0]!.length * 8 < u.bbox.width / devicePixelRatio, size: 5 },
            // The legend shows each series' own value, not the stacked sum it is drawn at.
            value: (_u: uPlot, _v: number | null, _sidx: number, idx: number | null) => {
              if (idx == null) {
                const total = s.total !== undefined ? s.total : bars ? s.values.reduce<number>((a, b) => a + (b ?? 0), 0) : null;
                return total == null ? '—' : format.current(total);
              }
              const raw = s.values[idx];
              return raw == null ? '—' : format.current(raw);
            },
          } satisfies uPlot.Series;
        }),
      ],
      hooks: {
        draw: [
          (u) => {
            // uPlot keeps the axis labels it drew (internal fields): expose them for tests.
            const axis = u.axes[0] as uPlot.Axis & { _splits?: number[]; _values?: string[] };
            const ticks = (axis._splits ?? []).map((split, i) => ({ x: Math.round(u.valToPos(split, 'x')), label: String(axis._values?.[i] ?? '') }));
            figure.current?.setAttribute('data-x-ticks', JSON.stringify(ticks));
          },
        ],
      },
    };
    const data = [times.map((t) => t / 1000), ...order.map((i) => drawn[i]!)] as uPlot.AlignedData;
    const chart = new uPlot(opts, data, el);
    figure.current?.setAttribute('data-x-font', AXIS_FONT);
    const observer = new ResizeObserver(([entry]) => {
      const width = Math.floor(entry?.contentRect.width ?? 0);
      if (width > 0 && Math.abs(width - chart.width) > 1) chart.setSize({ width: Math.max(220, width), height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      chart.destroy();
    };
  }, [times, series, fromMs, toMs, bucketMs, kind, yMax, height]);

  const latest = series.map((s) => {
    const last = [...s.values].reverse().find((v) => v != null);
    return last == null ? `${s.label}: no data` : `${s.label}: latest ${formatY(last)}`;
  });
  return (
    <figure className="chart" ref={figure} aria-label={title} data-buckets={times.length} data-bucket-seconds={Math.round(bucketMs / 1000)}>
      <figcaption className="chart__title">{title}</figcaption>
      <p className="visually-hidden">{`${title}. ${latest.join('; ')}.`}</p>
      <div className="chart__plot" ref={holder}>
        {empty && <p className="chart__empty">{emptyText}</p>}
      </div>
    </figure>
  );
}
