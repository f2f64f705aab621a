import type { Logger } from '../logger.js';
import type { BreakerState } from '../domain/circuitBreaker.js';
import type { PublishInput } from './publish.js';

/** What the operational events say about an endpoint (never its secrets). */
export interface EndpointFacts {
  id: string;
  orgId: string;
  url: string;
}

export interface SystemEvents {
  disabled(endpoint: EndpointFacts, reason: string): void;
  circuitOpened(endpoint: EndpointFacts, breaker: BreakerState, last: { errorClass: string | null; responseStatus: number | null }): void;
  recovered(endpoint: EndpointFacts, before: BreakerState): void;
  deliveryExhausted(
    endpoint: EndpointFacts,
    delivery: {
      deliveryId: string;
      eventId: string;
      eventType: string;
      attempts: number;
      lastErrorClass: string | null;
      lastResponseStatus: number | null;
      lastAttemptAt: string;
    },
  ): void;
  /** Publishes what is buffered (at stop). */
  flush(): Promise<void>;
}

/** Buffered events are published at least this often. */
const FLUSH_MS = 100;
/** One publish carries at most this many events of an organization. */
const BATCH = 500;
/** Beyond this many waiting events the oldest are dropped (and counted in the log). */
const MAX_BUFFERED = 20_000;

/**
 * The operational events (`webhook.endpoint.disabled`, `…circuit_opened`, `…recovered`,
 * `webhook.delivery.exhausted`; payloads as the catalog's examples show them), published into
 * the endpoint's own organization so admins can
 * route them to another endpoint. Never to the endpoint they are about (it is failing, or just
 * recovered and busy with its backlog). A dead delivery of an operational event raises no
 * `webhook.delivery.exhausted`: two failing endpoints subscribed to `webhook.*` would otherwise
 * feed each other forever.
 *
 * Events are buffered and published in batches per organization: in a failure storm thousands of
 * deliveries die per second, and a publish each would compete with the platform's own.
 */
export function createSystemEvents(deps: {
  publish(orgId: string, inputs: PublishInput[]): Promise<unknown>;
  log: Logger;
}): SystemEvents {
  const { log } = deps;
  let buffered: { orgId: string; input: PublishInput }[] = [];
  let timer: NodeJS.Timeout | null = null;
  let flushing: Promise<void> | null = null;
  let dropped = 0;

  function emit(endpoint: EndpointFacts, type: string, data: Record<string, unknown>): void {
    if (buffered.length >= MAX_BUFFERED) {
      buffered.shift();
      dropped++;
    }
    buffered.push({ orgId: endpoint.orgId, input: { type, data: { endpointId: endpoint.id, url: withoutQuery(endpoint.url), ...data }, excludeEndpointId: endpoint.id } });
    if (!timer) timer = setTimeout(() => void flush(), FLUSH_MS);
  }

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    if (flushing) await flushing;
    const batch = buffered;
    buffered = [];
    if (batch.length === 0) return;
    if (dropped > 0) {
      log.warn({ dropped }, 'operational events dropped: too many waiting to be published');
      dropped = 0;
    }
    const byOrg = new Map<string, PublishInput[]>();
    for (const { orgId, input } of batch) byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), input]);
    flushing = (async () => {
      for (const [orgId, inputs] of byOrg) {
        for (let i = 0; i < inputs.length; i += BATCH) {
          await deps.publish(orgId, inputs.slice(i, i + BATCH)).catch((err) =>
            log.error({ err: (err as Error).message, orgId, events: inputs.length }, 'could not publish operational events'),
          );
        }
      }
    })();
    await flushing;
    flushing = null;
  }

  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

  return {
    disabled(endpoint, reason) {
      emit(endpoint, 'webhook.endpoint.disabled', { reason, disabledAt: new Date().toISOString() });
    },
    circuitOpened(endpoint, breaker, last) {
      emit(endpoint, 'webhook.endpoint.circuit_opened', {
        consecutiveFailures: breaker.consecutiveFailures,
        lastErrorClass: last.errorClass,
        lastResponseStatus: last.responseStatus,
        openedAt: iso(breaker.openedAtMs),
        nextProbeAt: iso(breaker.openUntilMs),
      });
    },
    recovered(endpoint, before) {
      const nowMs = Date.now();
      emit(endpoint, 'webhook.endpoint.recovered', {
        openedAt: iso(before.openedAtMs),
        recoveredAt: new Date(nowMs).toISOString(),
        downtimeSeconds: before.openedAtMs === null ? null : Math.round((nowMs - before.openedAtMs) / 1000),
      });
    },
    deliveryExhausted(endpoint, delivery) {
      if (delivery.eventType.startsWith('webhook.')) return;
      emit(endpoint, 'webhook.delivery.exhausted', delivery);
    },
    flush,
  };
}

/** The URL without its query string and fragment: receivers put tokens there. */
function withoutQuery(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url.split(/[?#]/)[0]!;
  }
}
