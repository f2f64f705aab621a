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
import { printTable, round } from './lib/stats.js';
import { runCeiling, runSystem, type ThroughputRow } from './scenarios/throughput.js';
import { reportIsolation, runAloneAgain, runIsolation, type IsolationResult } from './scenarios/isolation.js';
import { liveSeenNote, runLatency, type LatencyResult } from './scenarios/latency.js';
import { runRetry, type RetryResult } from './scenarios/retry.js';
import { runIngest, type IngestResult } from './scenarios/ingest.js';
import { runBacklog, type BacklogResult } from './scenarios/backlog.js';
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

    const systemRows = rows.filter((r) => r.label.startsWith('system'));
    if (rows.length) {
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
      const ratios: (string | number | null)[][] = [];
      for (const s of systemRows) {
        const c = rows.find((r) => r.label.startsWith('bare') && r.endpoints === s.endpoints);
        ratios.push([`${s.endpoints} endpoints`, s.m.rate, c?.m.rate ?? null, c ? s.m.rate / c.m.rate : null]);
      }
      printTable('System vs bare ceiling', ['endpoints', 'system/s', 'ceiling/s', 'ratio'], ratios);
      const best = systemRows.reduce<ThroughputRow | null>((b, r) => (!b || r.m.rate > b.m.rate ? r : b), null);
      if (best) {
        figures.deliveriesPerSecond = round(best.m.rate, 0);
        const c = rows.find((r) => r.label.startsWith('bare') && r.endpoints === best.endpoints);
        figures.bareCeilingPerSecond = c ? round(c.m.rate, 0) : null;
        figures.ratioToCeiling = c ? round(best.m.rate / c.m.rate, 3) : null;
        const rss = systemRows.map((r) => r.m.workerRssMb).filter((v): v is number => v !== null);
        figures.workerRssMb = rss.length ? round(Math.max(...rss), 0) : null;
      }
    }
    if (isolation.length && tpMany) figures.isolationRatio = round(reportIsolation(ctx, isolation, tpMany.m, aloneAgain), 3);
    if (latency) {
      figures.latencyP50Ms = round(latency.p50, 1);
      figures.latencyP99Ms = round(latency.p99, 1);
      figures.liveP99Ms = round(latency.live.p99, 1);
      printTable(
        `Latency at ${latency.ratePerSecond} events/s (open loop, batches of ${mode.latency.batchEvents}, one delivery per event)`,
        ['measure', 'samples', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
        [
          ['publish → receipt', latency.received, latency.p50, latency.p90, latency.p99, latency.max],
          ['  of which: publish call (scheduled → answered)', latency.events, latency.publishCall.p50, null, latency.publishCall.p99, null],
          ['  of which: answered → receipt', latency.received, latency.afterAccept.p50, null, latency.afterAccept.p99, null],
          ['attempt recorded → live message', latency.live.messages, latency.live.p50, null, latency.live.p99, latency.live.max],
          ['  of which: recorded → notification at a plain LISTEN', latency.live.messages, latency.live.toNotification.p50, null, latency.live.toNotification.p99, null],
          ['  of which: notification → GraphQL message', latency.live.messages, latency.live.afterNotification.p50, null, latency.live.afterNotification.p99, null],
        ],
        [
          `${latency.missing} of ${latency.events} events not received (counted as infinitely late); ${latency.late} publish ticks late; ${latency.publishErrors} publish errors.`,
          `CPU over the window (% of one core): worker ${latency.cpu.worker.toFixed(0)}, api ${latency.cpu.api.toFixed(0)}, postgres ${latency.cpu.postgres.toFixed(0)}.`,
          `Postgres background during the window: autovacuum in ${latency.background.autovacuumSamples} of ${latency.background.samples} samples${latency.background.autovacuumTables.length ? ` (${latency.background.autovacuumTables.join('; ')})` : ''}, ${latency.background.checkpoints} checkpoint(s) started.`,
          `live: ${latency.live.via}${latency.live.errors.length ? `; errors: ${latency.live.errors.join('; ')}` : ''}`,
          liveSeenNote(latency.live.seen),
        ],
      );
    }
    if (retry) {
      figures.retryLateP99Ms = round(retry.p99, 0);
      printTable(
        `Retry timing: every delivery fails once, retried after ${mode.retry.backoffSeconds} s ±20%`,
        ['deliveries', 'retries measured', 'p50 late ms', 'p99 late ms', 'max late ms', 'early'],
        [[retry.deliveries, retry.retried - retry.unobserved, retry.p50, retry.p99, retry.max, retry.early]],
        retry.unobserved ? [`${retry.unobserved} retries whose schedule was not observed (excluded)`] : [],
      );
    }
    if (ingest) {
      figures.ingestPerSecond = round(ingest.eventsPerSecond, 0);
      printTable(
        `Ingest: publishEvents, batches of ${ingest.batchEvents} × 1 KiB, ${ingest.concurrency} calls in flight, one subscribed endpoint`,
        ['events/s', 'events', 'seconds', 'call p50 ms', 'call p99 ms', 'errors'],
        [[ingest.eventsPerSecond, ingest.events, ingest.seconds, ingest.callP50Ms, ingest.callP99Ms, ingest.errors]],
        ingest.lastError ? [`last error: ${ingest.lastError}`] : [],
      );
    }
    if (backlog && tpMany) {
      const ratio = backlog.m.rate / tpMany.m.rate;
      figures.backlogRatio = round(ratio, 3);
      printTable(
        `Backlog: ${backlog.target.toLocaleString('en-US')} deliveries queued, ${setB.length} endpoints`,
        ['run', 'deliveries/s', 'slowest s', 'worker CPU%', 'pg CPU%', 'queued at start', 'queued at end'],
        [
          ['empty queue (throughput run)', tpMany.m.rate, tpMany.m.minSecond, tpMany.m.cpu.worker, tpMany.m.cpu.postgres, null, null],
          ['deep queue', backlog.m.rate, backlog.m.minSecond, backlog.m.cpu.worker, backlog.m.cpu.postgres, backlog.depthAtStart, backlog.depthAtEnd],
          ['ratio', ratio, null, null, null, null, null],
        ],
        [`backlog written at ${Math.round(backlog.generatePerSecond).toLocaleString('en-US')} deliveries/s (engine publish path, ${backlog.generateSeconds.toFixed(1)} s) while the worker delivered.`],
      );
    }
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
