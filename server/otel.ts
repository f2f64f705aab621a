/**
 * OpenTelemetry trace export (OTLP over HTTP, the official SDK packages), loaded by service.ts
 * only when OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set: without it no SDK module
 * is even imported. Spans: `webhooks.publish` (one per publish call, PRODUCER, a child of the
 * caller's traceparent) and `webhooks.attempt` (one per delivery attempt, CLIENT, a child of the
 * event's stored traceparent; its span id is the request's traceparent). No global provider or
 * context manager is installed: parents are passed explicitly.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { OtelConfig } from './otelConfig.js';
import type { Logger } from './logger.js';
import { DomainError } from './domain/errors.js';
import { formatTraceparent, parseTraceparent } from './domain/traceContext.js';
import type { AttemptSpan, PublishSpan, Tracing } from './engine/tracing.js';

/** Export failures logged at most this often (a collector down would otherwise log every batch). */
const FAILURE_LOG_INTERVAL_MS = 30_000;

export interface OtelTracing extends Tracing {
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

export async function startOtelTracing(config: OtelConfig, log: Logger, roles: string): Promise<OtelTracing> {
  const { OTLPTraceExporter } =
    config.protocol === 'http/json' ? await import('@opentelemetry/exporter-trace-otlp-http') : await import('@opentelemetry/exporter-trace-otlp-proto');
  forwardDiagnostics(log);
  const exporter = new OTLPTraceExporter({ url: config.tracesUrl, headers: config.headers });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      ...config.resourceAttributes,
      'service.name': config.serviceName,
      'service.version': packageVersion(),
      'webhooks.roles': roles,
    }),
    sampler: samplerOf(config),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: config.exportDelayMs })],
  });
  const tracer = provider.getTracer('org-webhooks', packageVersion());
  log.info({ url: config.tracesUrl.split('?')[0], protocol: config.protocol, sampler: config.sampler }, 'exporting OpenTelemetry traces');

  /** The caller's context as a remote parent, or the root (a new trace). */
  function parentOf(traceparent: string | null): Context {
    const parsed = traceparent === null ? null : parseTraceparent(traceparent);
    if (!parsed) return ROOT_CONTEXT;
    return trace.setSpanContext(ROOT_CONTEXT, {
      traceId: parsed.traceId,
      spanId: parsed.spanId,
      traceFlags: parsed.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
      isRemote: true,
    });
  }

  function traceparentOf(span: Span): string {
    const c = span.spanContext();
    return formatTraceparent({ traceId: c.traceId, spanId: c.spanId, sampled: (c.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED });
  }

  return {
    exporting: true,
    startPublish(parent, info): PublishSpan {
      const span = tracer.startSpan(
        'webhooks.publish',
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': 'org-webhooks',
            'messaging.operation.type': 'publish',
            'messaging.batch.message_count': info.events,
            ...(info.eventId ? { 'messaging.message.id': info.eventId } : {}),
            'webhooks.org_id': info.orgId,
            'webhooks.event_types': info.types.slice(0, 20),
          },
        },
        parentOf(parent),
      );
      return {
        traceparent: traceparentOf(span),
        end({ error, deliveries }) {
          if (deliveries !== undefined) span.setAttribute('webhooks.deliveries', deliveries);
          if (error !== undefined) {
            span.setAttribute('error.type', error instanceof DomainError ? error.code : 'INTERNAL');
            span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message.slice(0, 200) : String(error) });
          }
          span.end();
        },
      };
    },
    startAttempt(parent, info): AttemptSpan {
      const url = new URL(info.url);
      const span = tracer.startSpan(
        'webhooks.attempt',
        {
          kind: SpanKind.CLIENT,
          startTime: info.startedAt,
          attributes: {
            'http.request.method': 'POST',
            'url.full': info.url,
            'server.address': url.hostname,
            'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
            'messaging.message.id': info.eventId,
            'webhooks.delivery_id': info.deliveryId,
            'webhooks.endpoint_id': info.endpointId,
            'webhooks.event_type': info.eventType,
            'webhooks.attempt_number': info.attemptNumber,
            'webhooks.trigger': info.trigger,
          },
        },
        parentOf(parent),
      );
      return {
        traceparent: traceparentOf(span),
        end({ succeeded, status, errorClass }) {
          if (status !== null) span.setAttribute('http.response.status_code', status);
          if (!succeeded) {
            span.setAttribute('error.type', errorClass ?? (status !== null ? String(status) : 'UNKNOWN'));
            span.setStatus({ code: SpanStatusCode.ERROR, message: errorClass ?? undefined });
          }
          span.end();
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
}

function samplerOf(config: OtelConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** The SDK reports failed exports through its diagnostics channel: to our log, throttled. */
function forwardDiagnostics(log: Logger): void {
  let lastMs = 0;
  let suppressed = 0;
  const report = (message: string) => {
    const now = Date.now();
    if (now - lastMs < FAILURE_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    log.warn({ detail: message.slice(0, 300), suppressedSince: suppressed }, 'OpenTelemetry export problem (spans may be dropped)');
    lastMs = now;
    suppressed = 0;
  };
  const toText = (message: string, args: unknown[]) => [message, ...args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : ''))].join(' ').trim();
  diag.setLogger(
    {
      error: (message, ...args) => report(toText(message, args)),
      warn: (message, ...args) => report(toText(message, args)),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

let version: string | undefined;
function packageVersion(): string {
  // server/otel.ts and dist/otel.js both sit one level below the package root.
  version ??= (JSON.parse(readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
