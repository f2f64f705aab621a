import type { Sql } from 'postgres';
import type { Logger } from '../logger.js';
import { parseJsonPayload } from '../db/notifications.js';
import { createListener } from '../db/listener.js';

/**
 * A topic: a NOTIFY channel whose payloads are JSON arrays of org-scoped records, and how to turn
 * the records some subscriber wants into what subscribers receive.
 */
export interface TopicSpec<Raw extends { orgId: string }, Out> {
  channel: string;
  /**
   * Runs once per notification batch per process, shared by every subscriber, and only for the
   * records at least one subscriber accepts; answers one value per record (null drops it).
   * `needs` is the union of what the batch's subscribers declared they will read (see
   * `subscribe`): a hint to fetch it now, in one query for the batch, rather than on demand.
   */
  load(records: Raw[], needs: ReadonlySet<string>): Promise<(Out | null)[]>;
}

type AnyTopic = TopicSpec<{ orgId: string }, unknown>;
type RawOf<T> = T extends TopicSpec<infer R, unknown> ? R : never;
type OutOf<T> = T extends TopicSpec<{ orgId: string }, infer O> ? O : never;

/** Metrics hooks; the pubsub works without them. */
export interface PubSubObserver {
  /** A record was handed to `subscribers` subscribers (called once per record, not per subscriber). */
  delivered?(topic: string, raw: { orgId: string; recordedAtMs?: number }, subscribers: number): void;
  /** Messages dropped because a subscriber (or the process) fell too far behind. */
  dropped?(topic: string, count: number): void;
  /** A topic queried rows its notifications did not carry (see liveTopics.ts). */
  rowsLoaded?(rows: 'attempts' | 'endpoints'): void;
}

/** An async iterator over one subscriber's messages; `return()` unsubscribes at once. */
export interface LiveIterator<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T>>;
}

interface Subscriber {
  orgId: string;
  accept(raw: unknown): boolean;
  needs: ReadonlySet<string>;
  queue: unknown[];
  waiting: ((result: IteratorResult<unknown>) => void) | null;
  close(): void;
}

interface TopicState {
  spec: AnyTopic;
  byOrg: Map<string, Set<Subscriber>>;
  count: number;
  pending: { orgId: string }[];
  draining: boolean;
}

export interface PubSubOptions<Topics extends Record<string, AnyTopic>> {
  /** postgres.js opens ONE listener connection per `Sql` instance for all its channels; pass the process's main pool. */
  sql: Sql;
  log: Logger;
  topics: Topics;
  observer?: PubSubObserver;
  /** Messages one subscriber may have waiting before the oldest are dropped (a stalled client must not grow the heap). */
  maxQueue?: number;
  /** Records waiting for `load` before the oldest are dropped (database slower than the notification rate). */
  maxPending?: number;
  /** How often the listener proves it still receives (a NOTIFY to itself); 0 turns the check off. */
  healthCheckMs?: number;
}

/**
 * Typed topics over Postgres LISTEN/NOTIFY. Any process NOTIFYs (workers after recording a batch,
 * the api after pause/resume); every api process LISTENs once, on the single listener connection
 * postgres.js keeps per pool, and fans each record out in memory to the subscribers of its
 * organization. Delivery is at-most-once and live only: a message NOTIFYed while the listener
 * reconnects is not replayed (clients read history through queries).
 */
export function createPubSub<Topics extends Record<string, AnyTopic>>(options: PubSubOptions<Topics>) {
  const { sql, log, observer } = options;
  const maxQueue = options.maxQueue ?? 10_000;
  const maxPending = options.maxPending ?? 50_000;
  const topics = new Map<string, TopicState>(
    Object.entries(options.topics).map(([name, spec]) => [name, { spec, byOrg: new Map(), count: 0, pending: [], draining: false }]),
  );
  // Live only: what was sent while the listener was away is not replayed (the listener logs the
  // gap; clients read history through queries).
  const listener = createListener({
    sql,
    log,
    name: 'live',
    channels: Object.fromEntries([...topics].map(([name, topic]) => [topic.spec.channel, (payload: string) => onPayload(name, payload)])),
    healthCheckMs: options.healthCheckMs,
  });
  let started = false;
  let stopped = false;
  const totals = { delivered: 0, dropped: 0 };

  function topicOf(name: string): TopicState {
    const topic = topics.get(name);
    if (!topic) throw new Error(`unknown live topic "${name}"`);
    return topic;
  }

  function wanted(topic: TopicState, raw: { orgId: string }): boolean {
    const set = topic.byOrg.get(raw.orgId);
    if (!set) return false;
    for (const s of set) if (s.accept(raw)) return true;
    return false;
  }

  function onPayload(name: string, payload: string): void {
    const topic = topicOf(name);
    // Nobody listens here: not even parsed, and `load` never runs.
    if (topic.count === 0) return;
    const records = parseJsonPayload<{ orgId: string }>(payload).filter((r) => r && typeof r.orgId === 'string' && wanted(topic, r));
    if (records.length === 0) return;
    topic.pending.push(...records);
    if (topic.pending.length > maxPending) {
      const over = topic.pending.length - maxPending;
      topic.pending.splice(0, over);
      drop(name, over);
    }
    if (!topic.draining) void drain(name, topic);
  }

  /**
   * One `load` at a time per topic: records that arrive meanwhile are loaded together next, so
   * a burst of notifications costs fewer queries, and messages keep their NOTIFY order.
   */
  async function drain(name: string, topic: TopicState): Promise<void> {
    topic.draining = true;
    try {
      while (topic.pending.length > 0) {
        // Subscribers may have left while the records waited.
        const batch = topic.pending.filter((r) => wanted(topic, r));
        topic.pending = [];
        if (batch.length === 0) continue;
        let values: unknown[];
        try {
          values = await topic.spec.load(batch, needsOf(topic, batch));
        } catch (err) {
          log.warn({ err: (err as Error).message, topic: name, records: batch.length }, 'could not load live records; they are skipped');
          drop(name, batch.length);
          continue;
        }
        batch.forEach((raw, i) => {
          const value = values[i];
          if (value !== null && value !== undefined) fanOut(name, topic, raw, value);
        });
      }
    } finally {
      topic.draining = false;
    }
  }

  /** What the subscribers receiving `batch` declared they will read. */
  function needsOf(topic: TopicState, batch: { orgId: string }[]): ReadonlySet<string> {
    const needs = new Set<string>();
    for (const orgId of new Set(batch.map((r) => r.orgId))) {
      for (const s of topic.byOrg.get(orgId) ?? []) for (const need of s.needs) needs.add(need);
    }
    return needs;
  }

  function fanOut(name: string, topic: TopicState, raw: { orgId: string }, value: unknown): void {
    let receivers = 0;
    for (const s of topic.byOrg.get(raw.orgId) ?? []) {
      if (!s.accept(raw)) continue;
      receivers++;
      if (s.waiting) {
        const resolve = s.waiting;
        s.waiting = null;
        resolve({ value, done: false });
      } else {
        s.queue.push(value);
        if (s.queue.length > maxQueue) {
          s.queue.shift();
          drop(name, 1);
        }
      }
    }
    totals.delivered += receivers;
    observer?.delivered?.(name, raw, receivers);
  }

  function drop(name: string, count: number): void {
    totals.dropped += count;
    observer?.dropped?.(name, count);
  }

  return {
    /** LISTENs on every topic's channel (and the health ping) before resolving. */
    async start(): Promise<void> {
      if (started) return;
      started = true;
      await listener.start();
    },

    /**
     * Messages of `topic` for organization `orgId` that `accept` lets through, from now on;
     * `needs` tells the topic's `load` what this subscriber will read of each message.
     * Cleanup is `return()` (graphql-ws calls it on `complete` and on socket close), which also
     * ends a pending `next()` at once: no listener outlives its client.
     */
    subscribe<K extends keyof Topics & string>(
      name: K,
      orgId: string,
      accept: (raw: RawOf<Topics[K]>) => boolean = () => true,
      needs: ReadonlySet<string> = new Set(),
    ): LiveIterator<OutOf<Topics[K]>> {
      const topic = topicOf(name);
      let closed = false;
      const sub: Subscriber = {
        orgId,
        accept: accept as (raw: unknown) => boolean,
        needs,
        queue: [],
        waiting: null,
        close() {
          if (closed) return;
          closed = true;
          const set = topic.byOrg.get(orgId);
          set?.delete(sub);
          if (set?.size === 0) topic.byOrg.delete(orgId);
          topic.count--;
          sub.queue = [];
          const resolve = sub.waiting;
          sub.waiting = null;
          resolve?.({ value: undefined, done: true });
        },
      };
      if (stopped) closed = true;
      else {
        let set = topic.byOrg.get(orgId);
        if (!set) topic.byOrg.set(orgId, (set = new Set()));
        set.add(sub);
        topic.count++;
      }
      type T = OutOf<Topics[K]>;
      const done = (): Promise<IteratorResult<T>> => Promise.resolve({ value: undefined as never, done: true });
      const iterator: LiveIterator<T> = {
        next() {
          if (sub.queue.length > 0) return Promise.resolve({ value: sub.queue.shift() as T, done: false });
          if (closed) return done();
          return new Promise((resolve) => {
            sub.waiting = resolve as (result: IteratorResult<unknown>) => void;
          });
        },
        return() {
          sub.close();
          return done();
        },
        throw(err?: unknown) {
          sub.close();
          return Promise.reject(err);
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },

    /** Subscribers per topic, and whether the listener is known to receive (metrics, readiness). */
    stats() {
      const subscribers: Record<string, number> = {};
      for (const [name, topic] of topics) subscribers[name] = topic.count;
      return { subscribers, listening: started && listener.listening(), delivered: totals.delivered, dropped: totals.dropped };
    },

    /** Ends every subscription and stops listening. */
    async stop(): Promise<void> {
      stopped = true;
      for (const topic of topics.values()) {
        for (const set of [...topic.byOrg.values()]) for (const s of [...set]) s.close();
      }
      await listener.stop();
    },
  };
}
