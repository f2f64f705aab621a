/**
 * `npm run bench [-- --quick | --smoke] [--topology combined|split] [--only a,b] [--keep-db]
 *  [--env KEY=VALUE ...] [--cpu-prof] [--server-root DIR] [--scale-steps 1,1000,2500]`
 *
 * Runs the SPEC §9 scenarios against the service running as separate OS processes on a fresh
 * `bench_*` database, prints one table per scenario, then ONE final JSON line with the figures.
 * Progress goes to stderr; stdout carries only the tables and the JSON line. See
 * docs/benchmarks.md for the method and what limits each figure.
 */
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { openPostgres } from '../server/db/client.js';
import { MODES, type ModeName } from './lib/modes.js';
import { createBenchDatabase, DEFAULT_ADMIN_URL, type BenchDatabase } from './lib/database.js';
import { startService, type Service, type Topology } from './lib/service.js';
import { forkChild, PROJECT_ROOT, type BenchChild } from './lib/ipc.js';
import { apiClient, createEndpoints, createEventType, type BenchEndpoint } from './lib/api.js';
import { waitQuiet, type Context, type FlowMeasurement } from './lib/context.js';
import { round } from './lib/stats.js';
import { runCeiling, runSystem, type ThroughputRow } from './scenarios/throughput.js';
import { reportThroughput } from './scenarios/throughputReport.js';
import { reportIsolation, runAloneAgain, runIsolation, type IsolationResult } from './scenarios/isolation.js';
import { reportLatency, runLatency, type LatencyResult } from './scenarios/latency.js';
import { reportRetry, runRetry, type RetryResult } from './scenarios/retry.js';
import { reportIngest, runIngest, type IngestResult } from './scenarios/ingest.js';
import { reportBacklog, runBacklog, type BacklogResult } from './scenarios/backlog.js';
import { runScale, type ScaleResult } from './scenarios/scale.js';
import { printScale } from './scenarios/scaleReport.js';
import { reportHistory, runHistory, type HistoryResult } from './scenarios/history.js';

const SCENARIOS = ['ceiling', 'throughput', 'isolation', 'latency', 'retry', 'ingest', 'backlog', 'scale', 'history'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

interface Args {
  mode: ModeName;
  topology: Topology;
  only: Set<ScenarioName>;
  keepDb: boolean;
  env: Record<string, string>;
  cpuProf: boolean;
  serverRoot: string | undefined;
  /** Organization counts of the scale scenario's steps, instead of the mode's (a shorter run at platform size). */
  scaleSteps: number[] | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { mode: 'full', topology: 'split', only: new Set(SCENARIOS), keepDb: false, env: {}, cpuProf: false, serverRoot: undefined, scaleSteps: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.mode = 'quick';
    else if (a === '--smoke') args.mode = 'smoke';
    else if (a === '--keep-db') args.keepDb = true;
    else if (a === '--cpu-prof') args.cpuProf = true;
    else if (a.startsWith('--server-root')) args.serverRoot = value();
    else if (a.startsWith('--scale-steps')) {
      const steps = value().split(',').map(Number);
      if (!steps.length || steps.some((n, k) => !Number.isInteger(n) || n < 1 || (k > 0 && n <= steps[k - 1]!))) {
        throw new Error('--scale-steps is a rising list of organization counts, e.g. 1,1000,2500');
      }
      args.scaleSteps = steps;
    }
    else if (a.startsWith('--topology')) {
      const t = value();
      if (t !== 'combined' && t !== 'split') throw new Error('--topology is combined or split');
      args.topology = t;
    } else if (a.startsWith('--only')) {
      const names = value().split(',');
      for (const n of names) if (!SCENARIOS.includes(n as ScenarioName)) throw new Error(`--only: unknown scenario ${n} (${SCENARIOS.join(', ')})`);
      args.only = new Set(names as ScenarioName[]);
    } else if (a.startsWith('--env')) {
      const kv = value();
      args.env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

function machineInfo(pgVersion: string): string[] {
  let model = '';
  try {
    model = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' }).trim();
  } catch {
    /* not Linux */
  }
  return [
    `cpus: ${os.availableParallelism()} (${model || os.cpus()[0]?.model || 'unknown'})`,
    `memory: ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    `load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `node ${process.version}, ${pgVersion}`,
  ];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const mode = args.scaleSteps ? { ...MODES[args.mode], scale: { ...MODES[args.mode].scale, steps: args.scaleSteps } } : MODES[args.mode];
  const adminUrl = process.env.DATABASE_URL || DEFAULT_ADMIN_URL;
  const startedAt = Date.now();
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err) => log(`cleanup: ${(err as Error).message}`));
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

  const figures: Record<string, number | null> = {
    deliveriesPerSecond: null,
    bareCeilingPerSecond: null,
    ratioToCeiling: null,
    latencyP50Ms: null,
    latencyP99Ms: null,
    liveP99Ms: null,
    isolationRatio: null,
    retryLateP99Ms: null,
    workerRssMb: null,
    backlogRatio: null,
    ingestPerSecond: null,
    endpointCreatePerSecond: null,
    fanoutP99Ms: null,
    thinSpreadRatio: null,
    workerRssMbAt100k: null,
    publishP50Ratio: null,
    historyQueryP99Ms: null,
    historyStatsP99Ms: null,
    historyPurgeDayMs: null,
    historyThroughputRatio: null,
  };
  const problems: string[] = [];
  let serviceRef: Service | null = null;

  try {
    const admin = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
    const [{ version }] = (await admin`SELECT version()`) as unknown as [{ version: string }];
    await admin.end();
    log(`mode ${mode.name}, topology ${args.topology}`);

    const db: BenchDatabase = await createBenchDatabase(adminUrl);
    if (!args.keepDb) cleanups.push(() => db.drop());
    else log(`keeping database ${db.name}`);
    log(`database ${db.name}`);

    const fork = async (name: string, file: string) => {
      const child = await forkChild(name, file);
      cleanups.push(async () => {
        await child.call('close').catch(() => {});
        await child.kill();
      });
      return child;
    };
    const profileArgs = args.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${PROJECT_ROOT}/bench/.profiles`] : [];
    const servicePromise = startService({ databaseUrl: db.url, topology: args.topology, env: args.env, workerNodeArgs: profileArgs, serverRoot: args.serverRoot });
    servicePromise.then(
      (s) => {
        serviceRef = s;
        cleanups.push(() => s.stop());
      },
      () => {},
    );
    const [receiver, hangReceiver, loadgen, ceiling, subscriber, scaleDriver, service] = await Promise.all([
      fork('receiver', 'receiver.ts'),
      fork('hang-receiver', 'receiver.ts'),
      fork('loadgen', 'loadgen.ts'),
      fork('ceiling', 'ceiling.ts'),
      fork('subscriber', 'subscriber.ts'),
      fork('scale-driver', 'scaleDriver.ts'),
      servicePromise,
    ]);
    const receiverUrl = (await receiver.call<{ url: string }>('info')).url;
    const hangReceiverUrl = (await hangReceiver.call<{ url: string }>('info')).url;
    await loadgen.call('init', { apiUrl: service.apiUrl, apiKey: service.adminKey, databaseUrl: db.url, orgId: service.orgId });
    const sql = openPostgres(db.url, { max: 1, onnotice: () => {} });
    cleanups.push(() => sql.end({ timeout: 2 }));
    const api = apiClient(service.apiUrl, service.adminKey);
    const ctx: Context = { mode, db, sql, service, api, receiver, receiverUrl, hangReceiver, hangReceiverUrl, loadgen, ceiling, subscriber, log };
    log(`service up (${service.processes.map((p) => `${p.role} pid ${p.pid}`).join(', ')}) after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);

    // Event types and the two endpoint sets shared by the scenarios.
    const [few, many] = mode.endpointCounts;
    const latencyTypes = Array.from({ length: Math.min(mode.latency.endpoints, few) }, (_, i) => `bench.lat${i}`);
    await Promise.all(['bench.a', 'bench.b', 'bench.retry', 'bench.ingest', ...latencyTypes].map((t) => createEventType(api, t)));
    const setA: BenchEndpoint[] = await createEndpoints(api, few, (i) => `${receiverUrl}/ok/a${i}`, (i) => [
      'bench.a',
      ...(i < latencyTypes.length ? [latencyTypes[i]!] : []),
      ...(i === 0 ? ['bench.ingest'] : []),
    ]);
    const setB: BenchEndpoint[] = await createEndpoints(api, many, (i) => `${receiverUrl}/ok/b${i}`, ['bench.b']);
    log(`set up ${few + many} endpoints after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);

    const run = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
      const t0 = Date.now();
      log(`${name}...`);
      try {
        const r = await fn();
        log(`${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return r;
      } catch (err) {
        problems.push(`${name}: ${(err as Error).message}`);
        log(`${name} FAILED: ${(err as Error).stack}`);
        for (const p of service.processes) log(`service ${p.role} output (tail):\n${p.output().slice(-3000)}`);
        await waitQuiet(ctx).catch(() => {});
        return null;
      }
    };

    // ---- throughput and ceiling, pairwise so each pair sees the same database and machine state
    const rows: ThroughputRow[] = [];
    let tpMany: ThroughputRow | null = null;
    if (args.only.has('ceiling') || args.only.has('throughput') || args.only.has('isolation') || args.only.has('backlog') || args.only.has('history')) {
      for (const [set, type, firstEndpoint] of [
        [setA, 'bench.a', 0],
        [setB, 'bench.b', 1000],
      ] as const) {
        if (args.only.has('ceiling')) {
          const c = await run(`ceiling ${set.length}`, () => runCeiling(ctx, set, firstEndpoint));
          if (c) rows.push(c);
        }
        if (args.only.has('throughput') || set === setB) {
          const s = await run(`throughput ${set.length}`, () => runSystem(ctx, set, type));
          if (s) rows.push(s);
          if (set === setB) tpMany = s;
        }
      }
    }
    const isolation: IsolationResult[] = [];
    let aloneAgain: FlowMeasurement | null = null;
    if (args.only.has('isolation') && tpMany) {
      const on = await run('isolation', () => runIsolation(ctx, setB, 'bench.b', true));
      if (on) isolation.push(on);
      // Right after the run it is compared with, before the breaker-off run (see isolation.ts).
      if (on) aloneAgain = await run('isolation, healthy alone again', () => runAloneAgain(ctx, setB, 'bench.b'));
      if (mode.isolation.breakerOff) {
        const off = await run('isolation, breaker off', () => runIsolation(ctx, setB, 'bench.b', false));
        if (off) isolation.push(off);
      }
    }
    let latency: LatencyResult | null = null;
    if (args.only.has('latency')) latency = await run('latency', () => runLatency(ctx, latencyTypes));
    let retry: RetryResult | null = null;
    if (args.only.has('retry')) retry = await run('retry', () => runRetry(ctx, 'bench.retry'));
    let ingest: IngestResult | null = null;
    if (args.only.has('ingest')) ingest = await run('ingest', () => runIngest(ctx, 'bench.ingest'));
    let backlog: BacklogResult | null = null;
    if (args.only.has('backlog') && tpMany) backlog = await run('backlog', () => runBacklog(ctx, setB, 'bench.b'));
    // Last two: scale leaves the database with the whole endpoint population, history fills it with history.
    let scale: ScaleResult | null = null;
    if (args.only.has('scale')) scale = await run('scale', () => runScale(ctx, scaleDriver, service.platformToken));
    let history: HistoryResult | null = null;
    if (args.only.has('history') && tpMany) history = await run('history', () => runHistory(ctx, setB, 'bench.b', tpMany!.m));

    // ---- tables
    process.stdout.write(`# org-webhooks benchmark (${mode.name}, service topology: ${args.topology === 'combined' ? 'api+worker in one process' : 'api and worker processes'})\n`);
    for (const line of machineInfo(version.split(' on ')[0]!)) process.stdout.write(`  ${line}\n`);

    if (rows.length) Object.assign(figures, reportThroughput(mode, rows));
    if (isolation.length && tpMany) figures.isolationRatio = round(reportIsolation(ctx, isolation, tpMany.m, aloneAgain), 3);
    if (latency) Object.assign(figures, reportLatency(mode, latency));
    if (retry) figures.retryLateP99Ms = reportRetry(mode, retry);
    if (ingest) figures.ingestPerSecond = reportIngest(ingest);
    if (backlog && tpMany) figures.backlogRatio = reportBacklog(backlog, tpMany.m, setB.length);
    if (scale) Object.assign(figures, printScale(scale));
    if (history && tpMany) Object.assign(figures, reportHistory(history, tpMany.m));
  } catch (err) {
    problems.push((err as Error).message);
    log(`FAILED: ${(err as Error).stack}`);
    for (const p of (serviceRef as Service | null)?.processes ?? []) log(`service ${p.role} output (tail):\n${p.output().slice(-4000)}`);
  } finally {
    await cleanup();
  }
  if (problems.length) process.stdout.write(`\nProblems:\n${problems.map((p) => `  - ${p.split('\n')[0]}`).join('\n')}\n`);
  process.stdout.write(`\ntotal ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  process.exit(problems.length ? 1 : 0);
}

await main();
