import type { Sql } from 'postgres';
import { openPostgres } from '../../db/client.js';
import type { Logger } from '../../logger.js';
import { SLOT_COUNT, slotOf } from '../../domain/endpointSlots.js';

// Lock classes of the shard-queue layout. The first version (one queue per endpoint) used
// 7164022/7164023: its workers, if any still run during an upgrade, never share slots with ours.
const SLOT_LOCK_CLASS = 716_4032;
const PRESENCE_LOCK_CLASS = 716_4033;
/** Presence lock class of the first version's workers (see queueUpgrade.ts). */
export const LEGACY_PRESENCE_LOCK_CLASS = 716_4023;

export interface OwnershipHooks {
  /** Slots just acquired: take over their endpoints (release leases of a dead owner, fetch). */
  onAcquire(slots: number[]): Promise<void>;
  /** Slots about to be handed over: stop fetching them and wait until their work is recorded. */
  onRelease(slots: number[]): Promise<void>;
  /** The lock connection died: every slot is gone at once; stop sending for all of them. */
  onLost(): void;
}

/**
 * Which endpoints this worker delivers for, decided with Postgres session advisory locks on a
 * dedicated connection: a worker holds a presence lock and one lock per owned slot; a worker
 * that dies loses its connection and with it every lock, so the survivors take its slots over
 * within one rebalance interval, with no heartbeat table and no lease to wait out. Owning an
 * endpoint exclusively is what makes maxInFlight, rate limits, orderingKey exclusivity and the
 * circuit breaker exact across any number of worker processes.
 */
export function createOwnership(deps: { url: string; log: Logger; hooks: OwnershipHooks; rebalanceMs?: number }) {
  const { log, hooks } = deps;
  const rebalanceMs = deps.rebalanceMs ?? 2000;
  const owned = new Set<number>();
  const workerNumber = Math.floor(Math.random() * 2 ** 31);
  let lockSql: Sql | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<void> | null = null;
  let connected = false;

  function open(): Sql {
    return openPostgres(deps.url, {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      connect_timeout: 10,
      onnotice: () => {},
      connection: { application_name: 'org-webhooks:ownership' },
      // Session locks live and die with this connection; a drop means every slot is gone.
      onclose: () => {
        if (connected) {
          connected = false;
          if (owned.size > 0) {
            log.warn({ slots: owned.size }, 'ownership connection lost; releasing every endpoint slot');
            owned.clear();
            hooks.onLost();
          }
        }
      },
    });
  }

  async function rebalance(): Promise<void> {
    if (stopped) return;
    lockSql ??= open();
    const sql = lockSql;
    if (!connected) {
      await sql`SELECT pg_advisory_lock(${PRESENCE_LOCK_CLASS}, ${workerNumber})`;
      connected = true;
    }
    const [presence] = await sql<{ workers: number }[]>`
      SELECT count(*)::int AS workers FROM pg_locks
      WHERE locktype = 'advisory' AND classid = ${PRESENCE_LOCK_CLASS} AND objsubid = 2 AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    const workers = Math.max(1, presence?.workers ?? 1);
    const target = Math.ceil(SLOT_COUNT / workers);
    if (owned.size > target) {
      const surplus = [...owned].slice(0, owned.size - target);
      await hooks.onRelease(surplus);
      await sql`SELECT pg_advisory_unlock(${SLOT_LOCK_CLASS}, s) FROM unnest(${surplus}::int[]) AS s`;
      for (const s of surplus) owned.delete(s);
      log.info({ released: surplus.length, owned: owned.size, workers }, 'handed endpoint slots over');
      return;
    }
    if (owned.size < target) {
      const held = await sql<{ slot: number }[]>`
        SELECT objid::int AS slot FROM pg_locks
        WHERE locktype = 'advisory' AND classid = ${SLOT_LOCK_CLASS} AND objsubid = 2
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
      const taken = new Set(held.map((h) => h.slot));
      const free: number[] = [];
      for (let s = 0; s < SLOT_COUNT && free.length < target - owned.size; s++) if (!taken.has(s)) free.push(s);
      if (free.length === 0) return;
      const got = await sql<{ slot: number }[]>`
        SELECT s AS slot FROM unnest(${free}::int[]) AS s WHERE pg_try_advisory_lock(${SLOT_LOCK_CLASS}, s)`;
      const acquired = got.map((g) => g.slot);
      if (acquired.length === 0) return;
      for (const s of acquired) owned.add(s);
      log.info({ acquired: acquired.length, owned: owned.size, workers }, 'took endpoint slots');
      await hooks.onAcquire(acquired);
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = rebalance()
        .catch((err) => log.warn({ err: (err as Error).message }, 'slot rebalance failed; retrying'))
        .finally(() => {
          running = null;
          schedule(rebalanceMs);
        });
    }, delayMs);
  }

  return {
    /** Takes a first share of slots now, then keeps the share fair as workers come and go. */
    async start(): Promise<void> {
      try {
        await rebalance();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not take endpoint slots yet; retrying');
      }
      schedule(rebalanceMs);
    },
    owns: (slot: number) => owned.has(slot),
    ownsEndpoint: (endpointId: string) => owned.has(slotOf(endpointId)),
    ownedSlots: () => [...owned],
    /** True while the lock connection is up (readiness). */
    healthy: () => connected,
    /** Hands every slot back after `onRelease` drained them, so other workers take over at once. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      const slots = [...owned];
      if (slots.length && connected) await hooks.onRelease(slots).catch(() => {});
      owned.clear();
      connected = false;
      await lockSql?.end({ timeout: 2 }).catch(() => {});
    },
  };
}
export type Ownership = ReturnType<typeof createOwnership>;
