import type { Sql } from 'postgres';
import type { Logger } from '../../logger.js';
import { createListener } from '../../db/listener.js';
import { CHANNELS, parseJsonPayload, parseWakePayload, type EndpointChanged } from '../../db/notifications.js';
import type { DeliveryJobs, FinishedJob } from '../../db/repos/deliveryJobs.js';
import type { WorkerReads } from '../../db/repos/workerReads.js';
import { WINDOW_MS } from '../../domain/sendWindow.js';
import { slotOf } from '../../domain/endpointSlots.js';
import type { RuntimeLoader } from '../endpointRuntime.js';
import type { HttpSender } from '../httpSender.js';
import type { Recorder } from '../recorder.js';
import type { SystemEvents } from '../systemEvents.js';
import type { Tracing } from '../tracing.js';
import { createAdmission } from './admission.js';
import { createDiscovery, discoveryPause } from './discovery.js';
import { createDispatch } from './dispatch.js';
import { createDueTimers } from './dueTimers.js';
import { createEndpointStates } from './endpointStates.js';
import { createFetchRounds } from './fetchRounds.js';
import { createFinishedJobs } from './finishedJobs.js';
import { createLeasedWork } from './leasedWork.js';
import type { EngineObserver } from './observer.js';
import { createEndpointChanges } from './endpointChanges.js';
import { createOwnership } from './slotOwnership.js';
import { createIdleWaiters } from './idleWaiters.js';
import { createSlotHandover, shardsOf } from './slotHandover.js';
import { createWakeUps } from './wakeUps.js';

export type { EngineObserver } from './observer.js';

export interface WorkerOptions {
  /** Most jobs one lease takes from one endpoint. */
  fetchBatchMax?: number;
  /** See AdmissionOptions.fetchMinBatch. */
  fetchMinBatch?: number;
  rebalanceMs?: number;
  /** How often the LISTEN connection proves it receives (see db/listener.ts). */
  listenerCheckMs?: number;
  /** Lease nothing while this many results wait to be recorded (about a second of work). */
  maxRecorderBacklog?: number;
  /** Shortest pause between two searches of a shard for due jobs nobody announced. */
  discoveryIntervalMs?: number;
  /** An endpoint idle this long costs nothing in the worker any more (its state is dropped). */
  idleEvictMs?: number;
  /** Runtimes (settings with decrypted keys) kept for endpoints without work. */
  runtimeCacheMax?: number;
}

export interface WorkerDeps {
  sql: Sql;
  /** Where leases run (Database.leaseSql: generic plans, planned once per connection). */
  leaseSql: Sql;
  url: string;
  jobs: DeliveryJobs;
  reads: WorkerReads;
  recorder: Recorder;
  sender: HttpSender;
  loadRuntimes: RuntimeLoader;
  systemEvents: SystemEvents;
  /** Removes what a publish racing an endpoint's deletion left behind (waiting jobs, pending deliveries). */
  cleanUpDeleted(endpointIds: string[]): Promise<void>;
  log: Logger;
  observer?: EngineObserver;
  /** Trace context and spans of attempts (engine/tracing.ts). */
  tracing?: Tracing;
  options?: WorkerOptions;
}

/** The periodic tick: deferred leases asked again, idle states dropped, a shard discovered. */
const TICK_MS = 1000;

/**
 * The delivery worker (a folder of one concept per module):
 * - slotOwnership: which endpoints are ours (advisory locks on 256 slots);
 * - endpointStates: per-endpoint state while it has work, runtimes in a bounded cache;
 * - dueTimers / discovery / endpointChanges: what wakes an endpoint (notifications, its own
 *   timers, each lease's answer, a slow search for jobs nobody announced, settings changes);
 *   wakeUps turns wake-ups into leases, pickFloor says where each lease starts walking;
 * - admission (with domain/sendWindow): how much an endpoint may take now;
 * - fetchRounds: one lease statement per shard for every endpoint asking, then one load;
 * - leasedWork / orderingKeys / dispatch: leftovers, STRICT parking, orderingKey exclusivity, the
 *   attempt and its outcome for the recorder; finishedJobs: deleting jobs once recorded.
 */
export function createWorker(deps: WorkerDeps) {
  const { sql, jobs, recorder, log } = deps;
  const options = deps.options ?? {};
  const discoveryIntervalMs = options.discoveryIntervalMs ?? 5_000;
  // Short, so memory follows the endpoints busy right now: with 100,000 endpoints each receiving
  // a delivery every ~30 s, 30 s kept a state (and its runtime) for every one of them (worker RSS
  // 690 MB). It must stay above a second: a rate-limit window holds its slots that long.
  const idleEvictMs = Math.max(2_000, options.idleEvictMs ?? 5_000);
  let stopped = false;
  let tickTimer: NodeJS.Timeout | null = null;
  let tickCount = 0;
  const { notifyIdle, waitIdle } = createIdleWaiters();
  /** When each owned slot was acquired (a takeover's first second respects the old owner's sends). */
  const slotAcquiredAt = new Map<number, number>();
  const shardNextDiscovery = new Map<number, number>();

  const timers = createDueTimers((ids, atMs) => void wakeUps.wake(ids, atMs));
  const states = createEndpointStates({
    loadRuntimes: deps.loadRuntimes,
    runtimeCacheMax: options.runtimeCacheMax,
    recentlyAcquired: (id, nowMs) => nowMs - (slotAcquiredAt.get(slotOf(id)) ?? 0) < WINDOW_MS + 1000,
  });
  const allowance = createAdmission(
    { fetchBatchMax: options.fetchBatchMax ?? 64, fetchMinBatch: options.fetchMinBatch, maxRecorderBacklog: options.maxRecorderBacklog ?? 4_000 },
    { recorderBacklog: () => recorder.backlog(), stopped: () => stopped },
  );
  const finished = createFinishedJobs({ sql, jobs, log, leasing: (shard) => rounds.leasing(shard) });
  const dispatch = createDispatch({
    sender: deps.sender,
    recorder,
    systemEvents: deps.systemEvents,
    log,
    observer: deps.observer,
    tracing: deps.tracing,
    armTimer: (id, at) => timers.arm(id, at),
    requestLease: (s) => rounds.request(s),
    onIdle: notifyIdle,
  });
  // A finished job is deleted once its outcome has committed (see finishedJobs.ts).
  recorder.afterCommit((entries) => {
    const byShard = new Map<number, FinishedJob[]>();
    for (const e of entries) {
      if (!e.removeJob) continue;
      const list = byShard.get(e.removeJob.shard);
      if (list) list.push(e.removeJob);
      else byShard.set(e.removeJob.shard, [e.removeJob]);
    }
    for (const [shard, done] of byShard) finished.add(shard, done);
  });
  const onLeased = createLeasedWork({ reads: deps.reads, dispatch, log, armTimer: (id, at) => timers.arm(id, at) });
  const rounds = createFetchRounds({
    sql,
    leaseSql: deps.leaseSql,
    jobs,
    reads: deps.reads,
    allowance,
    finished,
    timers,
    recorder,
    log,
    stopped: () => stopped,
    onLeased: (items) => void onLeased(items),
    onRoundEnd: notifyIdle,
  });

  const ownership = createOwnership({
    url: deps.url,
    log,
    rebalanceMs: options.rebalanceMs,
    hooks: createSlotHandover({
      states,
      jobs,
      recorder,
      finished,
      log,
      slotAcquiredAt,
      owns: (id) => ownership.ownsEndpoint(id),
      discover: (shards) => discovery.run(shards, 'takeover'),
      waitIdle,
    }),
  });

  const discovery = createDiscovery({
    jobs,
    log,
    owns: (id) => ownership.ownsEndpoint(id),
    // Discovery says only that something is due: the next leases walk the whole range.
    wake: (ids) => wakeUps.wake(ids, null),
    arm: (id, at) => timers.arm(id, at),
    horizonMs: 2 * discoveryIntervalMs,
  });

  const changes = createEndpointChanges({ states, sender: deps.sender, log, wake: (s) => rounds.wake(s, null), owns: (id) => ownership.ownsEndpoint(id) });
  const wakeUps = createWakeUps({
    states,
    rounds,
    owns: (id) => ownership.ownsEndpoint(id),
    arm: (id, at) => timers.arm(id, at),
    cleanUpDeleted: deps.cleanUpDeleted,
    log,
    stopped: () => stopped,
  });

  function tick(): void {
    if (stopped) return;
    tickCount++;
    const nowMs = Date.now();
    for (const s of states.values()) if (s.deferred && !s.fetching) rounds.request(s);
    if (tickCount % 5 === 0) states.evictIdle(nowMs, idleEvictMs);
    // Every owned shard whose next search is due: searches are cheap where few endpoints have
    // waiting jobs (every few seconds), and spaced out where many do (see discovery.ts).
    for (const shard of shardsOf(ownership.ownedSlots())) {
      if ((shardNextDiscovery.get(shard) ?? 0) > nowMs) continue;
      shardNextDiscovery.set(shard, Number.POSITIVE_INFINITY); // one pass at a time
      const started = Date.now();
      void discovery.run([shard], 'background').finally(() => {
        shardNextDiscovery.set(shard, Date.now() + discoveryPause(Date.now() - started, discoveryIntervalMs));
      });
    }
  }

  const listener = createListener({
    sql,
    log,
    name: 'worker',
    channels: {
      [CHANNELS.wake]: (payload) => {
        const { ids, dueMs } = parseWakePayload(payload);
        void wakeUps.wake(ids, dueMs);
      },
      [CHANNELS.endpointChanged]: (payload) => {
        changes.apply(parseJsonPayload<EndpointChanged>(payload)).catch((err) => log.warn({ err: (err as Error).message }, 'could not apply an endpoint change'));
      },
    },
    onGap: () => {
      resync().catch((err) => log.warn({ err: (err as Error).message }, 'could not catch up after a listener gap'));
    },
    healthCheckMs: options.listenerCheckMs,
  });

  /** Catches up on what the listener may have missed: every setting re-read, every shard searched. */
  async function resync(): Promise<void> {
    if (stopped) return;
    await changes.reloadAll();
    // Wake-ups may have been missed, with the due times they announced.
    for (const s of states.values()) rounds.wake(s, null);
    await discovery.run(shardsOf(ownership.ownedSlots()), 'listener gap');
    log.info({ endpoints: states.size() }, 'caught up after a listener gap');
  }

  return {
    ownership,
    async start(): Promise<void> {
      await listener.start();
      await ownership.start();
      tickTimer = setInterval(tick, TICK_MS);
    },
    /** Stops leasing, lets in-flight attempts finish (each bounded by its timeout), records them. */
    async stop(): Promise<void> {
      if (stopped) return;
      if (tickTimer) clearInterval(tickTimer);
      await ownership.stop();
      stopped = true;
      const all = [...states.values()];
      for (const s of all) states.retire(s);
      await waitIdle(all);
      await recorder.drain();
      await finished.stop();
      timers.stop();
      await deps.systemEvents.flush();
      await listener.stop();
    },
    /** Endpoints this worker holds state for right now (tests and metrics). */
    activeEndpoints: () => [...states.values()].filter((s) => !s.retired).map((s) => s.id),
    /** Sizes of what the worker keeps in memory (metrics, the scale bench). */
    memory: () => ({ endpointStates: states.size(), cachedRuntimes: states.cachedRuntimes(), timers: timers.size() }),
    /** False while the LISTEN connection is known not to receive (readiness). */
    listening: () => listener.listening(),
    inFlight: () => {
      let n = 0;
      for (const s of states.values()) n += s.inFlight;
      return n;
    },
  };
}
export type Worker = ReturnType<typeof createWorker>;
