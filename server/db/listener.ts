import { randomBytes } from 'node:crypto';
import type { Sql } from 'postgres';
import type { Logger } from '../logger.js';

export interface ListenerOptions {
  /** postgres.js keeps ONE listener connection per `Sql` instance, for all its channels. */
  sql: Sql;
  log: Logger;
  /** Names the listener in logs ("live", "worker"). */
  name: string;
  channels: Record<string, (payload: string) => void>;
  /**
   * Notifications may have been missed: the connection dropped and postgres.js listened again,
   * or the health check found the listener deaf and started over. Called once per such gap,
   * after listening again.
   */
  onGap?: () => void;
  /** How often the listener proves it still receives (a NOTIFY to itself); 0 turns it off. */
  healthCheckMs?: number;
}

export interface Listener {
  /** LISTENs on every channel (and the health ping) before resolving. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** False from a failed health check until listening works again. */
  listening(): boolean;
}

/**
 * LISTEN that keeps working through database restarts. postgres.js LISTENs again by itself after
 * its listener connection drops, but what was sent in between is lost, and a re-LISTEN that
 * fails (the database still down) can leave it deaf without anyone noticing. So the listener
 * NOTIFYs itself every `healthCheckMs` on a channel of its own; a ping that does not come back
 * means it is deaf, and it LISTENs again. Either way the owner hears of the gap (`onGap`), to
 * catch up on what it may have missed.
 */
export function createListener(options: ListenerOptions): Listener {
  const { sql, log, name } = options;
  const healthCheckMs = options.healthCheckMs ?? 10_000;
  const channels = Object.entries(options.channels);
  // A channel only this process listens to: receiving our own NOTIFY proves the listener works.
  const pingChannel = `webhooks_${name}_ping_${randomBytes(6).toString('hex')}`;
  let unlistens: (() => Promise<void>)[] = [];
  let outstandingPing: string | null = null;
  let listening = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  // postgres.js calls onlisten after every LISTEN, ours or its own after a reconnect.
  let listens = 0;
  let expectedListens = 0;
  let gapPending = false;

  function gap(): void {
    if (gapPending || stopped) return;
    gapPending = true;
    setImmediate(() => {
      gapPending = false;
      if (!stopped) options.onGap?.();
    });
  }

  function onListen(): void {
    listens++;
    if (listens > expectedListens) {
      log.info(`${name} listener reconnected; notifications sent while it was down were not received`);
      // The reconnect LISTENs again on every channel, one after the other: one gap for all.
      expectedListens = listens + channels.length - 1;
      gap();
    }
  }

  async function listenAll(): Promise<void> {
    await Promise.all(unlistens.map((u) => u().catch(() => {})));
    unlistens = [];
    expectedListens = listens + channels.length;
    for (const [channel, handler] of channels) unlistens.push((await sql.listen(channel, handler, onListen)).unlisten);
    const ping = await sql.listen(pingChannel, (payload) => {
      if (payload !== outstandingPing) return;
      outstandingPing = null;
      if (!listening) log.info(`${name} listener receives notifications again`);
      listening = true;
    });
    unlistens.push(ping.unlisten);
    listening = true;
  }

  async function check(): Promise<void> {
    if (outstandingPing !== null) {
      // The last ping never came back: the listener is gone without postgres.js noticing, or it
      // failed to LISTEN again after a reconnect. Start over.
      if (listening) log.warn(`${name} listener stopped receiving notifications; listening again`);
      listening = false;
      try {
        await listenAll();
        gap();
      } catch (err) {
        log.warn({ err: (err as Error).message }, `${name} listener could not listen again; retrying`);
      }
    }
    const token = randomBytes(8).toString('hex');
    outstandingPing = token;
    // A failed send leaves the ping outstanding: the next check treats the listener as deaf.
    await sql`SELECT pg_notify(${pingChannel}, ${token})`.catch(() => {});
  }

  function scheduleCheck(): void {
    if (stopped || healthCheckMs <= 0) return;
    timer = setTimeout(() => {
      check()
        .catch((err) => log.warn({ err: (err as Error).message }, `${name} listener check failed`))
        .finally(scheduleCheck);
    }, healthCheckMs);
    timer.unref();
  }

  return {
    async start() {
      await listenAll();
      scheduleCheck();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all(unlistens.map((u) => u().catch(() => {})));
      unlistens = [];
      listening = false;
    },
    listening: () => listening,
  };
}
