import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  partitionBounds,
  partitionName,
  planPartitions,
  retentionHorizonMs,
  utcDayStart,
  type PartitionRange,
} from '../../server/domain/historyPartitions.js';
import { idLowerBound, idTimeMs } from '../../server/domain/ids.js';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const NOW = Date.parse('2026-12-10T15:30:00Z');
const dayRange = (table: 'events' | 'deliveries' | 'delivery_attempts', iso: string): PartitionRange => ({
  name: partitionName(table, day(iso)),
  fromMs: day(iso),
  toMs: day(iso) + DAY_MS,
});

describe('partition names and bounds', () => {
  it('names day partitions by their UTC date, partial ones with the time they start', () => {
    expect(partitionName('deliveries', day('2026-12-03'))).toBe('deliveries_p20261203');
    expect(partitionName('delivery_attempts', Date.parse('2026-12-03T15:30:12.345Z'))).toBe('delivery_attempts_p20261203_153012345');
  });

  it('gives id bounds of the table\'s own kind, null for MINVALUE/MAXVALUE', () => {
    const b = partitionBounds('events', { fromMs: day('2026-12-03'), toMs: day('2026-12-04') });
    expect(b.from).toBe(idLowerBound('event', day('2026-12-03')));
    expect(idTimeMs(b.to!)).toBe(day('2026-12-04'));
    expect(partitionBounds('deliveries', { fromMs: null, toMs: day('2026-12-04') }).from).toBeNull();
    expect(partitionBounds('delivery_attempts', { fromMs: day('2026-12-04'), toMs: null }).to).toBeNull();
    expect(partitionBounds('delivery_attempts', { fromMs: day('2026-12-04'), toMs: null }).from!.startsWith('att_')).toBe(true);
  });

  it('finds the UTC day start and the horizon', () => {
    expect(utcDayStart(NOW)).toBe(day('2026-12-10'));
    expect(utcDayStart(day('2026-12-10'))).toBe(day('2026-12-10'));
    expect(retentionHorizonMs(NOW, 90)).toBe(NOW - 90 * DAY_MS);
  });
});

describe('planPartitions', () => {
  it('creates today and the days ahead on an empty table', () => {
    const plan = planPartitions({ table: 'deliveries', nowMs: NOW, existing: [], retentionDays: 90, aheadDays: 2 });
    expect(plan.create.map((p) => p.name)).toEqual(['deliveries_p20261210', 'deliveries_p20261211', 'deliveries_p20261212']);
    expect(plan.create[0]).toMatchObject({ fromMs: day('2026-12-10'), toMs: day('2026-12-11') });
    expect(plan.drop).toEqual([]);
  });

  it('creates nothing when every day is there (idempotent)', () => {
    const existing = ['2026-12-10', '2026-12-11', '2026-12-12'].map((d) => dayRange('deliveries', d));
    expect(planPartitions({ table: 'deliveries', nowMs: NOW, existing, retentionDays: 90, aheadDays: 2 })).toEqual({ create: [], drop: [] });
  });

  it('fills the gap after days of downtime, from the end of the newest partition', () => {
    const existing = ['2026-12-01', '2026-12-02', '2026-12-03'].map((d) => dayRange('events', d));
    const plan = planPartitions({ table: 'events', nowMs: NOW, existing, retentionDays: 90, aheadDays: 1 });
    expect(plan.create.map((p) => p.name)).toEqual([
      'events_p20261204',
      'events_p20261205',
      'events_p20261206',
      'events_p20261207',
      'events_p20261208',
      'events_p20261209',
      'events_p20261210',
      'events_p20261211',
    ]);
  });

  it('never fills a gap older than what retention drops', () => {
    const existing = [dayRange('deliveries', '2026-01-01')];
    const plan = planPartitions({ table: 'deliveries', nowMs: NOW, existing, retentionDays: 5, aheadDays: 0 });
    expect(plan.create[0]!.name).toBe('deliveries_p20261206');
    expect(plan.create.at(-1)!.name).toBe('deliveries_p20261210');
    expect(plan.drop.map((p) => p.name)).toEqual(['deliveries_p20260101']);
  });

  it('starts right after a legacy partition that ends within today', () => {
    const legacyEnd = Date.parse('2026-12-10T09:15:00.250Z');
    const existing = [{ name: 'deliveries_legacy', fromMs: null, toMs: legacyEnd }];
    const plan = planPartitions({ table: 'deliveries', nowMs: NOW, existing, retentionDays: 90, aheadDays: 1 });
    expect(plan.create).toEqual([
      { name: 'deliveries_p20261210_091500250', fromMs: legacyEnd, toMs: day('2026-12-11') },
      { name: 'deliveries_p20261211', fromMs: day('2026-12-11'), toMs: day('2026-12-12') },
    ]);
  });

  it('creates only the uncovered part of a day', () => {
    const existing = [{ name: 'x', fromMs: day('2026-12-10') + 3_600_000, toMs: day('2026-12-10') + 7_200_000 }];
    const plan = planPartitions({ table: 'events', nowMs: NOW, existing, retentionDays: 90, aheadDays: 0 });
    expect(plan.create).toEqual([
      { name: 'events_p20261210', fromMs: day('2026-12-10'), toMs: day('2026-12-10') + 3_600_000 },
      { name: 'events_p20261210_020000000', fromMs: day('2026-12-10') + 7_200_000, toMs: day('2026-12-11') },
    ]);
  });

  it('drops partitions that ended before the horizon, events one day later than deliveries and attempts', () => {
    // Horizon: 2026-12-10T15:30 - 3 days = 2026-12-07T15:30.
    const days = ['2026-12-05', '2026-12-06', '2026-12-07', '2026-12-08'];
    const plan = (table: 'events' | 'deliveries' | 'delivery_attempts') =>
      planPartitions({ table, nowMs: NOW, existing: days.map((d) => dayRange(table, d)), retentionDays: 3, aheadDays: 0 }).drop.map((p) => p.name);
    expect(plan('deliveries')).toEqual(['deliveries_p20261205', 'deliveries_p20261206']);
    expect(plan('delivery_attempts')).toEqual(['delivery_attempts_p20261205', 'delivery_attempts_p20261206']);
    expect(plan('events')).toEqual(['events_p20261205']);
  });

  it('drops a legacy partition (MINVALUE lower bound) once its newest row is past the horizon, never a MAXVALUE one', () => {
    const legacy = { name: 'deliveries_legacy', fromMs: null, toMs: day('2026-09-01') };
    const open = { name: 'deliveries_open', fromMs: day('2026-09-01'), toMs: null };
    expect(planPartitions({ table: 'deliveries', nowMs: NOW, existing: [legacy, open], retentionDays: 90 }).drop).toEqual([legacy]);
    expect(planPartitions({ table: 'deliveries', nowMs: NOW, existing: [legacy, open], retentionDays: 120 }).drop).toEqual([]);
  });
});
