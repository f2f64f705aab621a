/** Percentiles and plain-text tables for the bench output. */

/** The q-quantile (0..1) by nearest rank; null for no samples. */
export function percentile(values: ArrayLike<number>, q: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function round(value: number | null | undefined, digits = 1): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export type Cell = string | number | null | undefined;

/** Prints a titled table with right-aligned numbers. */
export function printTable(title: string, header: string[], rows: Cell[][], notes: string[] = []): void {
  const text = (c: Cell) => (c === null || c === undefined ? '—' : typeof c === 'number' ? formatNumber(c) : c);
  const cells = [header, ...rows.map((r) => r.map(text))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[], numeric: boolean[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const numericCols = header.map((_, i) => rows.some((r) => typeof r[i] === 'number'));
  const out = [`\n## ${title}`, line(header, numericCols), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of cells.slice(1)) out.push(line(r, numericCols));
  for (const n of notes) out.push(`  ${n}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}
