import { useEffect, useRef, useState } from 'react';

export interface ChartPoint {
  /** Start of the bucket, epoch ms. */
  t: number;
  /** null: no data in that bucket (the line breaks). */
  v: number | null;
}

export interface ChartSeries {
  name: string;
  /** A CSS colour or custom property, e.g. "var(--accent)". */
  color: string;
  points: ChartPoint[];
  dashed?: boolean;
}

const H = 190;
const PAD = { top: 12, right: 16, bottom: 28, left: 56 };

/** Width of the element in CSS pixels, so the chart draws text at its real size. */
function useWidth(fallback: number) {
  const ref = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.max(200, Math.floor(entry.contentRect.width)));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return { ref, width };
}

/** Round maximum and 4–5 ticks for a y axis starting at 0. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.001; v += step) ticks.push(Number(v.toFixed(6)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toFixed(6)));
  return ticks;
}

/**
 * A small SVG line chart over time (no chart library: two series and a few ticks do not need
 * one). Lines break across buckets with no data and wherever points are further apart than
 * `gapMs`.
 */
export function LineChart({
  title,
  series,
  from,
  to,
  gapMs,
  yMax,
  formatY,
  formatX,
}: {
  title: string;
  series: ChartSeries[];
  from: number;
  to: number;
  gapMs: number;
  /** Fixed top of the y axis (e.g. 100 for percentages); otherwise from the data. */
  yMax?: number;
  formatY: (v: number) => string;
  formatX: (t: number) => string;
}) {
  const { ref, width: W } = useWidth(560);
  const values = series.flatMap((s) => s.points.map((p) => p.v)).filter((v): v is number => v != null);
  const ticks = yMax != null ? niceTicks(yMax).filter((t) => t <= yMax) : niceTicks(Math.max(...values, 0) * 1.1);
  const top = yMax ?? ticks[ticks.length - 1]!;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (t: number): number => PAD.left + ((t - from) / Math.max(1, to - from)) * plotW;
  const y = (v: number): number => PAD.top + plotH - (Math.min(v, top) / (top || 1)) * plotH;
  const xTicks = Array.from({ length: 5 }, (_, i) => from + ((to - from) * i) / 4);

  // Lines per run of consecutive points; a point alone in its run is drawn as a dot.
  const drawn = series.map((s) => {
    const runs: ChartPoint[][] = [];
    let run: ChartPoint[] = [];
    let lastT: number | null = null;
    for (const p of [...s.points].sort((a, b) => a.t - b.t)) {
      if (p.v == null || (lastT != null && p.t - lastT > gapMs)) {
        if (run.length) runs.push(run);
        run = [];
      }
      if (p.v != null) run.push(p);
      lastT = p.t;
    }
    if (run.length) runs.push(run);
    const path = runs
      .filter((r) => r.length > 1)
      .map((r) => r.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v!).toFixed(1)}`).join(''))
      .join(' ');
    const dots = s.points.filter((p) => p.v != null).length <= 60 ? s.points.filter((p) => p.v != null) : runs.filter((r) => r.length === 1).flat();
    return { path, dots };
  });

  const summary = series
    .map((s) => {
      const vs = s.points.map((p) => p.v).filter((v): v is number => v != null);
      return vs.length ? `${s.name}: latest ${formatY(vs[vs.length - 1]!)}` : `${s.name}: no data`;
    })
    .join('; ');

  return (
    <figure className="chart" ref={ref}>
      <figcaption className="chart__title">{title}</figcaption>
      <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}. ${summary}`} className="chart__svg">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} className="chart__grid" />
            <text x={PAD.left - 8} y={y(t)} className="chart__label" textAnchor="end" dominantBaseline="middle">
              {formatY(t)}
            </text>
          </g>
        ))}
        {xTicks.map((t, i) => (
          <text key={i} x={x(t)} y={H - 8} className="chart__label" textAnchor={i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}>
            {formatX(t)}
          </text>
        ))}
        {series.map((s, i) =>
          drawn[i]!.path ? (
            <path key={s.name} d={drawn[i]!.path} fill="none" stroke={s.color} strokeWidth={2} strokeDasharray={s.dashed ? '5 4' : undefined} strokeLinejoin="round" />
          ) : null,
        )}
        {series.map((s, i) =>
          drawn[i]!.dots.map((p) => (
            <circle key={`${s.name}-${p.t}`} cx={x(p.t)} cy={y(p.v!)} r={3} fill={s.color}>
              <title>{`${formatX(p.t)} · ${s.name}: ${formatY(p.v!)}`}</title>
            </circle>
          )),
        )}
        {values.length === 0 && (
          <text x={PAD.left + plotW / 2} y={PAD.top + plotH / 2} textAnchor="middle" className="chart__empty">
            No attempts in this period
          </text>
        )}
      </svg>
      <ul className="chart__legend">
        {series.map((s) => (
          <li key={s.name}>
            <span className={`chart__swatch${s.dashed ? ' chart__swatch--dashed' : ''}`} style={{ background: s.dashed ? undefined : s.color, borderColor: s.color }} aria-hidden="true" />
            {s.name}
          </li>
        ))}
      </ul>
    </figure>
  );
}
