/**
 * The throughput tables (the system and the bare ceiling side by side, CPU and WAL per delivery,
 * their ratio) and the figures taken from them.
 */
import os from 'node:os';
import type { Mode } from '../lib/modes.js';
import { printTable, round } from '../lib/stats.js';
import type { ThroughputRow } from './throughput.js';

export interface ThroughputFigures {
  deliveriesPerSecond: number | null;
  bareCeilingPerSecond: number | null;
  ratioToCeiling: number | null;
  workerRssMb: number | null;
}

/** Prints the tables; the figures come from the system's better endpoint count (none without a system run). */
export function reportThroughput(mode: Mode, rows: ThroughputRow[]): Partial<ThroughputFigures> {
  const systemRows = rows.filter((r) => r.label.startsWith('system'));
  printTable(
    'Throughput: successful deliveries/s at the receiver (1 KiB events fanned out to every endpoint)',
    ['run', 'deliveries/s', 'slowest s', 'fastest s', 'loop/worker CPU%', 'api CPU%', 'pg CPU%', 'receiver CPU%', 'loadgen CPU%', 'machine busy cores', 'worker RSS MB', 'queued (mean)'],
    rows.map((r) => [
      r.label,
      r.m.rate,
      r.m.minSecond,
      r.m.maxSecond,
      r.m.cpu.worker ?? r.m.cpu.loop,
      r.m.cpu.api || null,
      r.m.cpu.postgres,
      r.m.cpu.receiver,
      r.m.cpu.loadgen,
      r.m.machineBusyCores,
      r.m.workerRssMb,
      r.m.meanOutstanding,
    ]),
    [
      `CPU% is % of one core over the measured window (${mode.throughput.windowMs / 1000} s system, ${mode.ceiling.windowMs / 1000} s ceiling, after ${mode.throughput.warmupMs / 1000} s warm-up); pg = backends of the bench database.`,
      'machine busy cores counts every process on the machine, ours and anyone else\'s.',
      ...rows.filter((r) => r.m.publisher.errors).map((r) => `${r.label}: ${r.m.publisher.errors} publish errors (${r.m.publisher.lastError})`),
    ],
  );
  printTable(
    'CPU cost per delivery (ms of CPU per successful delivery; independent of how busy the machine is)',
    ['run', 'loop/worker', 'api', 'postgres', 'receiver', 'loadgen', 'all ours', `capacity on ${os.availableParallelism()} cores /s`, 'WAL bytes/delivery', 'FPI per 1,000'],
    rows.map((r) => [
      r.label,
      r.m.cpuMsPerDelivery.worker ?? r.m.cpuMsPerDelivery.loop,
      r.m.cpuMsPerDelivery.api || null,
      r.m.cpuMsPerDelivery.postgres,
      r.m.cpuMsPerDelivery.receiver,
      r.m.cpuMsPerDelivery.loadgen,
      r.m.cpuMsPerDelivery.all,
      r.m.cpuMsPerDelivery.all ? (os.availableParallelism() * 1000) / r.m.cpuMsPerDelivery.all : null,
      r.m.walBytesPerDelivery,
      r.m.walFullPageImagesPerThousand,
    ]),
    [
      'capacity = cores × 1000 / all ours: the rate if our processes had the whole machine and scaled perfectly (a noise-free comparison, not a measurement).',
      'WAL = pg_stat_wal over the window ÷ deliveries (the whole server; FPI = full-page images, written once per page after each checkpoint).',
    ],
  );
  const ceilingOf = (s: ThroughputRow) => rows.find((r) => r.label.startsWith('bare') && r.endpoints === s.endpoints);
  printTable(
    'System vs bare ceiling',
    ['endpoints', 'system/s', 'ceiling/s', 'ratio'],
    systemRows.map((s) => {
      const c = ceilingOf(s);
      return [`${s.endpoints} endpoints`, s.m.rate, c?.m.rate ?? null, c ? s.m.rate / c.m.rate : null];
    }),
  );
  const best = systemRows.reduce<ThroughputRow | null>((b, r) => (!b || r.m.rate > b.m.rate ? r : b), null);
  if (!best) return {};
  const c = ceilingOf(best);
  const rss = systemRows.map((r) => r.m.workerRssMb).filter((v): v is number => v !== null);
  return {
    deliveriesPerSecond: round(best.m.rate, 0),
    bareCeilingPerSecond: c ? round(c.m.rate, 0) : null,
    ratioToCeiling: c ? round(best.m.rate / c.m.rate, 3) : null,
    workerRssMb: rss.length ? round(Math.max(...rss), 0) : null,
  };
}
