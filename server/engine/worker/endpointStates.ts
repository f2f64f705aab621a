import { LRUCache } from 'lru-cache';
import { NO_FLOOR, type PickFloor } from './pickFloor.js';
import type { FetchedJob } from '../../db/repos/deliveryJobs.js';
import { emptyWindow, fullWindow, type SendWindow } from '../../domain/sendWindow.js';
import { slotOf } from '../../domain/endpointSlots.js';
import { shardOf } from '../../db/queues.js';
import type { EndpointRuntime, RuntimeLoader } from '../endpointRuntime.js';
import type { LoadedDelivery } from '../dispatcher.js';

/** A leased job with its delivery, on its way to an attempt. */
export interface Work {
  job: FetchedJob;
  delivery: LoadedDelivery;
  manual: boolean;
}

/** What the worker keeps for an endpoint while it has work (dropped once idle for a while). */
export interface EndpointState {
  id: string;
  shard: number;
  runtime: EndpointRuntime | null;
  /** Jobs reserved by a running lease or taken and not yet finished. */
  inFlight: number;
  /** A lease for this endpoint is queued or running. */
  fetching: boolean;
  /** The last lease came back short: nothing due until a wake-up or a timer. */
  exhausted: boolean;
  /** A wake-up arrived while a lease was running (its answer may predate what woke us). */
  rewoken: boolean;
  /** Endpoint deleted, slot handed over or lost: take nothing more. */
  retired: boolean;
  /** The half-open probe is in flight. */
  probing: boolean;
  /** Settings or keys are being reloaded: lease and send nothing until then. */
  reloading: Promise<void> | null;
  reloadsPending: number;
  /** orderingKey → work waiting for the delivery in flight with that key. */
  keys: Map<string, Work[]>;
  /** Rate-limit slots (only when the endpoint has a limit). */
  window: SendWindow | null;
  /** A lease was declined for a reason that clears by itself (recorder backlog): ask again. */
  deferred: boolean;
  /** Last time anything happened to this endpoint (eviction clock). */
  touchedMs: number;
  /** Where its leases start walking its due jobs (see pickFloor.ts). */
  floor: PickFloor;
}

export interface EndpointStatesOptions {
  loadRuntimes: RuntimeLoader;
  /** Runtimes kept for endpoints without a state (decrypted keys, parsed settings). */
  runtimeCacheMax?: number;
  /**
   * True when the endpoint's slot was taken over so recently that its previous owner may have
   * sent during the last second: its rate-limit window then starts full.
   */
  recentlyAcquired(endpointId: string, nowMs: number): boolean;
}

/** Runtimes are loaded in chunks of this many endpoints (one query each, plus their keys). */
const LOAD_CHUNK = 500;

/**
 * The endpoints the worker is busy with, and a bounded cache of their runtimes. Nothing here grows
 * with the number of endpoints in the database: a state exists while its endpoint has work (or
 * had some a moment ago) and runtimes beyond the cache bound are read again when needed.
 */
export function createEndpointStates(options: EndpointStatesOptions) {
  const states = new Map<string, EndpointState>();
  const runtimes = new LRUCache<string, EndpointRuntime>({ max: options.runtimeCacheMax ?? 10_000 });

  function newState(id: string): EndpointState {
    return {
      id,
      shard: shardOf(id),
      runtime: null,
      inFlight: 0,
      fetching: false,
      exhausted: false,
      rewoken: false,
      retired: false,
      probing: false,
      reloading: null,
      reloadsPending: 0,
      keys: new Map(),
      window: null,
      deferred: false,
      touchedMs: Date.now(),
      floor: NO_FLOOR,
    };
  }

  /** Gives `s` its runtime (or retires it when the endpoint is gone) and a window for its limit. */
  function install(s: EndpointState, runtime: EndpointRuntime | undefined, nowMs: number): void {
    s.runtime = runtime ?? null;
    if (!runtime || runtime.deleted) {
      s.retired = true;
      return;
    }
    const limit = runtime.rateLimitPerSecond;
    if (!limit) s.window = null;
    else if (!s.window) s.window = options.recentlyAcquired(s.id, nowMs) ? fullWindow(limit, nowMs) : emptyWindow();
  }

  async function loadFresh(ids: string[]): Promise<Map<string, EndpointRuntime>> {
    const result = new Map<string, EndpointRuntime>();
    for (let i = 0; i < ids.length; i += LOAD_CHUNK) {
      const loaded = await options.loadRuntimes(ids.slice(i, i + LOAD_CHUNK));
      for (const [id, rt] of loaded) {
        result.set(id, rt);
        if (!rt.deleted) runtimes.set(id, rt);
      }
    }
    return result;
  }

  return {
    get: (id: string) => states.get(id),
    values: () => states.values(),
    size: () => states.size,
    cachedRuntimes: () => runtimes.size,

    /**
     * The states of `ids`, made (with their runtime, from the cache or the database) for those
     * without one. Retired states of endpoints asked for again are replaced.
     */
    async open(ids: Iterable<string>): Promise<EndpointState[]> {
      const result: EndpointState[] = [];
      const missing: EndpointState[] = [];
      const nowMs = Date.now();
      for (const id of ids) {
        let s = states.get(id);
        if (s && s.retired && s.inFlight === 0 && !s.fetching) {
          states.delete(id);
          s = undefined;
        }
        if (!s) {
          s = newState(id);
          states.set(id, s);
          const cached = runtimes.get(id);
          if (cached) install(s, cached, nowMs);
          else missing.push(s);
        }
        s.touchedMs = nowMs;
        result.push(s);
      }
      if (missing.length) {
        const loaded = await loadFresh(missing.map((s) => s.id));
        const now = Date.now();
        for (const s of missing) if (states.get(s.id) === s && !s.runtime) install(s, loaded.get(s.id), now);
      }
      return result.filter((s) => !s.retired);
    },

    /** Reads runtimes again from the database (settings, keys or breaker changed elsewhere). */
    async reload(list: EndpointState[]): Promise<void> {
      for (const s of list) runtimes.delete(s.id);
      const loaded = await loadFresh(list.map((s) => s.id));
      const nowMs = Date.now();
      for (const s of list) install(s, loaded.get(s.id), nowMs);
    },

    /** Forgets the cached runtime of an endpoint that changed (its state, if any, reloads). */
    forgetRuntime(id: string): void {
      runtimes.delete(id);
    },

    /** Forgets every cached runtime (changes may have been missed). */
    forgetAllRuntimes(): void {
      runtimes.clear();
    },

    /** Stops taking work for `s` (deleted, handed over, lost). */
    retire(s: EndpointState): void {
      s.retired = true;
    },

    /** Removes the state of `id` once nothing of it is in flight. */
    drop(id: string): void {
      const s = states.get(id);
      if (s && s.inFlight === 0 && !s.fetching) states.delete(id);
    },

    /**
     * Drops states idle for `idleMs` (nothing in flight, nothing waiting, no lease running). Their
     * runtime stays in the cache; a later wake-up or timer makes a new state.
     */
    evictIdle(nowMs: number, idleMs: number): number {
      let evicted = 0;
      for (const [id, s] of states) {
        const idle = s.inFlight === 0 && !s.fetching && s.keys.size === 0 && !s.reloading && !s.probing;
        if (!idle) continue;
        // Asleep (its last lease came back short) and not waiting to ask again: a later job wakes
        // it through a notification or its timer (DueTimers, kept apart from the state).
        if (s.retired || (nowMs - s.touchedMs >= idleMs && s.exhausted && !s.deferred)) {
          states.delete(id);
          evicted++;
        }
      }
      return evicted;
    },

    /** States of endpoints in `slots`. */
    inSlots(slots: Set<number>): EndpointState[] {
      return [...states.values()].filter((s) => slots.has(slotOf(s.id)));
    },
  };
}
export type EndpointStates = ReturnType<typeof createEndpointStates>;
