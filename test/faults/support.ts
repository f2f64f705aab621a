/**
 * Shared pieces of the faults suite (npm run test:faults): log capture, table snapshots that
 * prove a refused call wrote nothing, a service on any database URL, and the figures file that
 * docs/reliability.md quotes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Sql } from 'postgres';
import { loadConfig, type Config } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startService, type RunningService } from '../../server/service.js';
import { TEST_ENV } from '../helpers/service.js';
import { graphqlClient, type GraphQLClient } from '../helpers/graphql.js';

/** Every log line a service wrote, as text (pino JSON lines). */
export interface LogCapture {
  stream: Writable;
  lines: string[];
  text(): string;
}

export function captureLogs(): LogCapture {
  const lines: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      const text = partial + String(chunk);
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line) lines.push(line);
      callback();
    },
  });
  return { stream, lines, text: () => lines.join('\n') + (partial ? `\n${partial}` : '') };
}

export interface ServiceOn extends RunningService {
  config: Config;
  client(apiKey: string | null): GraphQLClient;
}

/**
 * Starts the service in this process against `databaseUrl` (any database, e.g. a private
 * embedded cluster or one that already has data), with the test environment plus `env`.
 */
export async function startServiceOn(
  databaseUrl: string,
  env: Record<string, string>,
  options: { logDestination?: Writable } = {},
): Promise<ServiceOn> {
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: databaseUrl, PORT: '1', HOST: '127.0.0.1', WEBHOOKS_DB_POOL_SIZE: '6', ...env });
  config.port = 0;
  const log = createLogger(config.logLevel, options.logDestination);
  const service = await startService(config, log);
  return { ...service, config, client: (key) => graphqlClient(`${service.url}/graphql`, key) };
}

/** Tables whose rows a refused mutation must leave untouched, with the columns compared. */
const SNAPSHOT_TABLES: { table: string; row: string; order: string }[] = [
  { table: 'organizations', row: 'ROW(t.id, t.name, t.plan)', order: 't.id' },
  // last_used_at changes on every authenticated call: not part of the comparison.
  { table: 'api_keys', row: 'ROW(t.id, t.org_id, t.name, t.role, t.key_hash, t.revoked_at)', order: 't.id' },
  { table: 'endpoints', row: 't', order: 't.id' },
  { table: 'event_types', row: 't', order: 't.id' },
  { table: 'event_subscriptions', row: 't', order: 't.endpoint_id, t.pattern' },
  { table: 'signing_keys', row: 't', order: 't.id' },
  { table: 'events', row: 't', order: 't.id' },
  { table: 'deliveries', row: 't', order: 't.id' },
  { table: 'delivery_attempts', row: 't', order: 't.id' },
  { table: 'pgboss.job', row: 'ROW(t.id, t.name, t.data, t.state, t.start_after)', order: 't.id' },
];

/** Row count and a hash of the content of every table above: equal snapshots = nothing written. */
export async function snapshotTables(sql: Sql, where: { orgId?: string } = {}): Promise<Record<string, string>> {
  const parts = SNAPSHOT_TABLES.map(({ table, row, order }) => {
    let filter = '';
    if (where.orgId) {
      if (table === 'organizations') filter = `WHERE t.id = $1`;
      else if (table === 'event_subscriptions') filter = `WHERE t.endpoint_id IN (SELECT id FROM endpoints WHERE org_id = $1)`;
      else if (table === 'pgboss.job') filter = `WHERE t.data->>'p' IN (SELECT id FROM endpoints WHERE org_id = $1)`;
      else filter = `WHERE t.org_id = $1`;
    }
    return `SELECT '${table}' AS t, count(*)::text || ':' || coalesce(md5(string_agg((${row})::text, '|' ORDER BY ${order})), '-') AS h
            FROM ${table} t ${filter}`;
  });
  const rows = await sql.unsafe<{ t: string; h: string }[]>(parts.join(' UNION ALL '), where.orgId ? [where.orgId] : []);
  return Object.fromEntries(rows.map((r) => [r.t, r.h]));
}

/** The tables that differ between two snapshots. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys(before).filter((t) => before[t] !== after[t]);
}

const FIGURES_FILE = path.resolve('test-results/faults-figures.json');

/** Records figures of this run (read by docs/reliability.md's author; printed too). */
export function recordFigures(section: string, figures: object): void {
  mkdirSync(path.dirname(FIGURES_FILE), { recursive: true });
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(FIGURES_FILE, 'utf8')) as Record<string, unknown>;
  } catch {
    // first section of the run
  }
  all[section] = { ...figures, at: new Date().toISOString() };
  writeFileSync(FIGURES_FILE, JSON.stringify(all, null, 2) + '\n');
  console.log(`[faults] ${section}: ${JSON.stringify(figures)}`);
}

/** p-th percentile (0–100) of `values` (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A small seeded PRNG (mulberry32), so a failing chaos run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
