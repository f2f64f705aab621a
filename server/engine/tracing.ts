import { newSpanId } from '../crypto/random.js';
import { childTraceparent, parseTraceparent } from '../domain/traceContext.js';

/** The span of one publish call; its traceparent is stored with events that brought none of their own. */
export interface PublishSpan {
  traceparent: string;
  end(outcome: { error?: unknown; deliveries?: number }): void;
}

/** The span of one delivery attempt; its traceparent is the request's `traceparent` header. */
export interface AttemptSpan {
  traceparent: string;
  end(outcome: { succeeded: boolean; status: number | null; errorClass: string | null; durationMs: number }): void;
}

export interface PublishSpanInfo {
  orgId: string;
  events: number;
  /** The event id when the call publishes one event. */
  eventId: string | null;
  types: string[];
}

export interface AttemptSpanInfo {
  deliveryId: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  attemptNumber: number;
  trigger: string;
  /** The endpoint URL without its query string (receivers put tokens there). */
  url: string;
  startedAt: Date;
}

/**
 * Tracing as the engine sees it: W3C trace context always (a `traceparent` stored with an event
 * is continued on each of its deliveries), OpenTelemetry spans when the process exports them
 * (server/otel.ts, loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set).
 */
export interface Tracing {
  /** True when spans are recorded and exported: then every publish and attempt has a span. */
  readonly exporting: boolean;
  /** A span for a publish call under `parent` (the caller's traceparent); null when not exporting. */
  startPublish(parent: string | null, info: PublishSpanInfo): PublishSpan | null;
  /**
   * A span for an attempt of an event stored with `parent` (null: the event has none, and a
   * span starts a trace of its own when exporting); null when there is nothing to send.
   */
  startAttempt(parent: string | null, info: AttemptSpanInfo): AttemptSpan | null;
}

const NOTHING_TO_END = () => {};

/**
 * Trace context without OpenTelemetry: no span is recorded, but an event's trace still reaches
 * its receivers, each request with a new span id under the stored parent. Costs nothing for
 * events published without a traceparent.
 */
export const CONTEXT_ONLY: Tracing = {
  exporting: false,
  startPublish: () => null,
  startAttempt(parent) {
    const context = parent === null ? null : parseTraceparent(parent);
    return context ? { traceparent: childTraceparent(context, newSpanId()), end: NOTHING_TO_END } : null;
  },
};
