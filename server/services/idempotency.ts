import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client.js';
import { createIdempotencyKeysRepo } from '../db/repos/idempotencyKeys.js';
import { badInput, DomainError } from '../domain/errors.js';
import { conflictMessage, IDEMPOTENCY_TTL_MS, idempotencyKeyProblem, judgeClaim } from '../domain/idempotency.js';
import type { SecretBox } from '../crypto/secretBox.js';
import type { Logger } from '../logger.js';
import type { Viewer } from './auth.js';

/** A response as kept for replay: what the client received (errors already masked). */
export interface StoredResponse {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** The key is ours: run the request, then keep its response or give the key up. */
export interface IdempotencyClaim {
  complete(response: StoredResponse): Promise<void>;
  release(): Promise<void>;
  readonly settled: boolean;
}

export interface IdempotencyOptions {
  /** A running claim not renewed for this long is taken to have died with its process. */
  leaseMs: number;
  /** How long a request waits for the first one with its key to finish. */
  waitMs: number;
}

const DEFAULTS: IdempotencyOptions = { leaseMs: 60_000, waitMs: 30_000 };

/**
 * Idempotency-Key for HTTP mutations. Coordination is in Postgres alone (one row per organization
 * and key), so api processes sharing the database run a request once between them: the first
 * claims the key, the others wait for its response. Responses are sealed with the master key:
 * a createEndpoint response holds the endpoint's secret, shown again only to the same key.
 */
export function createIdempotencyService(deps: { database: Database; secretBox: SecretBox; log: Logger; options?: Partial<IdempotencyOptions> }) {
  const repo = createIdempotencyKeysRepo(deps.database.sql);
  const options = { ...DEFAULTS, ...deps.options };

  function conflict(verdict: Parameters<typeof conflictMessage>[0], key: string): DomainError {
    return new DomainError('IDEMPOTENCY_CONFLICT', conflictMessage(verdict, key), undefined, { reason: verdict });
  }

  function claimOf(id: string): IdempotencyClaim {
    let settled = false;
    // Renewed while the request runs, so a slow one (a large applyConfiguration) is never taken
    // for dead; a process that dies stops renewing.
    const heartbeat = setInterval(() => {
      repo.renew(id, options.leaseMs).catch((err) => deps.log.warn({ err: (err as Error).message }, 'could not renew an Idempotency-Key lease'));
    }, Math.max(1_000, Math.floor(options.leaseMs / 3)));
    heartbeat.unref();
    const settle = async (write: () => Promise<void>) => {
      if (settled) return;
      settled = true;
      clearInterval(heartbeat);
      await write();
    };
    return {
      get settled() {
        return settled;
      },
      complete: (response) => settle(() => repo.complete(id, deps.secretBox.seal(JSON.stringify(response)))),
      release: () => settle(() => repo.release(id)),
    };
  }

  return {
    options,

    /**
     * Starts a mutation sent with `key`: the first response when this request was already
     * answered, else a claim to run it under. Waits while the first request with the key is
     * still running. IDEMPOTENCY_CONFLICT when the key stands for another request, belongs to
     * another API key, or its first request died unfinished.
     */
    async begin(viewer: Viewer, key: string, requestHash: string): Promise<{ replay: StoredResponse } | { claim: IdempotencyClaim }> {
      const problem = idempotencyKeyProblem(key);
      if (problem) throw badInput(problem, 'Idempotency-Key');
      const deadline = Date.now() + options.waitMs;
      let pause = 20;
      for (;;) {
        const id = randomUUID();
        if (await repo.claim({ id, orgId: viewer.orgId, key, apiKeyId: viewer.apiKeyId, requestHash }, options.leaseMs, IDEMPOTENCY_TTL_MS)) {
          return { claim: claimOf(id) };
        }
        const stored = await repo.find(viewer.orgId, key, IDEMPOTENCY_TTL_MS);
        // Released or expired between the two statements: claim again.
        if (!stored) continue;
        const verdict = judgeClaim(stored, { requestHash, apiKeyId: viewer.apiKeyId }, stored.nowMs);
        if (verdict === 'REPLAY') return { replay: JSON.parse(deps.secretBox.openText(stored.responseSealed!)) as StoredResponse };
        if (verdict !== 'WAIT') throw conflict(verdict, key);
        if (Date.now() >= deadline) throw conflict('STILL_RUNNING', key);
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, 250);
      }
    },

    /** Deletes keys past the 24-hour window with their responses (the maintenance job). */
    purgeExpired: () => repo.purgeExpired(IDEMPOTENCY_TTL_MS),
  };
}
export type IdempotencyService = ReturnType<typeof createIdempotencyService>;
