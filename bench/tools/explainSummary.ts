/**
 * `npx tsx bench/tools/explainSummary.ts <postgres log> [from byte] [top]`: the plans auto_explain
 * logged (a bench run with BENCH_AUTO_EXPLAIN=0 BENCH_AUTO_EXPLAIN_SAMPLE=0.01 logs a sample of
 * every statement with actual rows and buffers) added up by statement: samples, time, and the
 * buffers each execution touched (shared hit, read from the OS, dirtied), heaviest first. Nested
 * statements (functions) count on their own. `from byte` skips what the log held before the run.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const [file, fromArg, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: explainSummary <postgres log> [from byte] [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);

interface Totals {
  samples: number;
  ms: number;
  hit: number;
  read: number;
  dirtied: number;
}
const byStatement = new Map<string, Totals>();
let current: { ms: number; text: string | null; buffers: { hit: number; read: number; dirtied: number } | null } | null = null;

function close(): void {
  if (!current?.text) return;
  const key = current.text.replace(/\s+/g, ' ').trim().slice(0, 160);
  const t = byStatement.get(key) ?? { samples: 0, ms: 0, hit: 0, read: 0, dirtied: 0 };
  t.samples += 1;
  t.ms += current.ms;
  if (current.buffers) {
    t.hit += current.buffers.hit;
    t.read += current.buffers.read;
    t.dirtied += current.buffers.dirtied;
  }
  byStatement.set(key, t);
}

const lines = createInterface({ input: createReadStream(file, { start: Number(fromArg ?? 0) }) });
for await (const line of lines) {
  const start = /LOG:\s+duration: ([\d.]+) ms\s+plan:/.exec(line);
  if (start) {
    close();
    current = { ms: Number(start[1]), text: null, buffers: null };
    continue;
  }
  if (!current) continue;
  if (!line.startsWith('\t') && !line.startsWith(' ')) {
    close();
    current = null;
    continue;
  }
  const text = /^\s*Query Text: (.*)$/.exec(line);
  if (text) {
    current.text = text[1]!;
    continue;
  }
  // The statement's text runs on until the plan's first node (a line with "(cost=" or "(actual").
  if (current.text !== null && current.buffers === null && !/\(cost=|\(actual/.test(line) && !/Buffers:/.test(line)) {
    if (!/^\s+(->|Buffers|Filter|Index Cond|Planning|Execution)/.test(line)) current.text += ` ${line.trim()}`;
  }
  // The first Buffers line belongs to the top node: the whole statement's buffers.
  const buffers = /^\s*Buffers: shared(.*)$/.exec(line);
  if (buffers && current.buffers === null) {
    const n = (k: string) => Number(new RegExp(`${k}=(\\d+)`).exec(buffers[1]!)?.[1] ?? 0);
    current.buffers = { hit: n('hit'), read: n('read'), dirtied: n('dirtied') };
  }
}
close();

const rows = [...byStatement].sort((a, b) => b[1].hit + b[1].read * 10 - (a[1].hit + a[1].read * 10)).slice(0, top);
const all = [...byStatement.values()].reduce((s, t) => ({ hit: s.hit + t.hit, read: s.read + t.read, ms: s.ms + t.ms }), { hit: 0, read: 0, ms: 0 });
process.stdout.write(`${byStatement.size} statements, ${all.ms.toFixed(0)} ms, ${all.hit} buffers hit, ${all.read} read in the sample\n`);
process.stdout.write('samples   ms total  ms mean  hit mean  read mean  dirtied mean  statement\n');
for (const [key, t] of rows) {
  const mean = (v: number) => (v / t.samples).toFixed(1);
  process.stdout.write(
    `${String(t.samples).padStart(7)}${t.ms.toFixed(0).padStart(11)}${mean(t.ms).padStart(9)}${mean(t.hit).padStart(10)}${mean(t.read).padStart(11)}${mean(t.dirtied).padStart(14)}  ${key}\n`,
  );
}
