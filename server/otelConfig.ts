/**
 * OpenTelemetry trace export settings: the OTEL_* entries of the environment schema that
 * loadConfig (config.ts) parses with the rest, and the OtelConfig derived from them for otel.ts.
 */
import { z } from 'zod';
import { boolean, integer } from './envValues.js';

/** The OTEL_* variables this service honours (the OpenTelemetry SDK's standard names). */
export interface OtelConfig {
  /** Where spans are POSTed: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  tracesUrl: string;
  protocol: 'http/protobuf' | 'http/json';
  /** OTEL_EXPORTER_OTLP_HEADERS (and _TRACES_HEADERS): e.g. an API key of the tracing vendor. */
  headers: Record<string, string>;
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES. */
  resourceAttributes: Record<string, string>;
  sampler: (typeof SAMPLERS)[number];
  /** OTEL_TRACES_SAMPLER_ARG: the ratio of the *traceidratio samplers (0–1). */
  samplerRatio: number;
  /** OTEL_BSP_SCHEDULE_DELAY: ms between span exports. */
  exportDelayMs: number;
}

const SAMPLERS = ['parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio', 'always_on', 'always_off', 'traceidratio'] as const;

/** The OTEL_* entries of the environment schema (spread into config.ts's, in this order). */
export const otelEnvShape = {
  OTEL_SDK_DISABLED: boolean.default(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, message: 'must be an http(s):// URL (the collector\'s OTLP/HTTP port, usually 4318)' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/, message: 'must be an http(s):// URL' }).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json'], { message: 'must be http/protobuf or http/json (gRPC is not supported: use the collector\'s OTLP/HTTP port)' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/protobuf', 'http/json'], { message: 'must be http/protobuf or http/json' }).optional(),
  OTEL_EXPORTER_OTLP_HEADERS: keyValueList(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: keyValueList(),
  OTEL_SERVICE_NAME: z.string().min(1).default('org-webhooks'),
  OTEL_RESOURCE_ATTRIBUTES: keyValueList(),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS, { message: `must be one of ${SAMPLERS.join(', ')}` }).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, { message: 'must be a ratio between 0 and 1' })
    .transform(Number)
    .optional(),
  OTEL_BSP_SCHEDULE_DELAY: integer(1, 600_000).default(5000),
};

/** `key1=value1,key2=value2` with URL-encoded values (the OTEL_* list format). */
function keyValueList() {
  return z
    .string()
    .default('')
    .transform((value, ctx) => {
      const out: Record<string, string> = {};
      for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
        const eq = part.indexOf('=');
        let decoded: string | null = null;
        try {
          decoded = eq > 0 ? decodeURIComponent(part.slice(eq + 1).trim()) : null;
        } catch {
          decoded = null;
        }
        if (decoded === null) {
          // Never echo the value: headers carry credentials.
          ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of key=value pairs (values URL-encoded)' });
          return z.NEVER;
        }
        out[part.slice(0, eq).trim()] = decoded;
      }
      return out;
    });
}

/** The trace export the parsed OTEL_* variables ask for, or null when there is none. */
export function otelConfig(e: z.infer<z.ZodObject<typeof otelEnvShape>>): OtelConfig | null {
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracesUrl = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!tracesUrl || e.OTEL_SDK_DISABLED) return null;
  return {
    tracesUrl,
    protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    headers: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    serviceName: e.OTEL_SERVICE_NAME,
    resourceAttributes: e.OTEL_RESOURCE_ATTRIBUTES,
    sampler: e.OTEL_TRACES_SAMPLER,
    samplerRatio: e.OTEL_TRACES_SAMPLER_ARG ?? 1,
    exportDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
  };
}
