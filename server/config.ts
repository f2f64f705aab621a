import { z } from 'zod';
import { parseCidrList } from './domain/cidrList.js';
import { boolean, integer } from './envValues.js';
import { otelConfig, otelEnvShape, type OtelConfig } from './otelConfig.js';

/** Roles a process can run; `api` serves GraphQL and the console, `worker` delivers. */
export type Role = 'api' | 'worker';

export interface Config {
  port: number;
  host: string;
  /** Null means: start an embedded Postgres in `dataDir`. */
  databaseUrl: string | null;
  roles: Set<Role>;
  /** 32 raw bytes, or null when the embedded default should load/generate one in `dataDir`. */
  masterKey: Buffer | null;
  /**
   * Master keys used before `masterKey` (WEBHOOKS_PREVIOUS_MASTER_KEYS): values sealed with them
   * still open, new values are sealed with `masterKey`; `npm run admin -- rotate-master-key`
   * re-encrypts what is left under them (docs/reliability.md, "Master key rotation").
   */
  previousMasterKeys: Buffer[];
  allowHttp: boolean;
  allowedCidrs: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** LOG_FORMAT: `json`, `pretty`, or `auto` (pretty when stdout is a terminal, decided by main). */
  logFormat: 'auto' | 'json' | 'pretty';
  dataDir: string;
  embeddedPostgresPort: number;
  /** Days payloads and response bodies are kept (WEBHOOKS_RETENTION_DAYS). */
  retentionDays: number;
  /** Days whole rows of finished deliveries, their events and attempts are kept (WEBHOOKS_HISTORY_RETENTION_DAYS). */
  historyRetentionDays: number;
  dbPoolSize: number;
  publicUrl: string | null;
  /**
   * The platform operator's credential (WEBHOOKS_PLATFORM_TOKEN): creates organizations and sets
   * their plans, reads no organization's data. Null: those mutations answer UNAUTHENTICATED.
   */
  platformToken: string | null;
  /** Endpoint runtimes (settings with decrypted keys) a worker keeps for endpoints without work. */
  endpointCacheSize: number;
  /**
   * How far a worker's heap may grow past its live set before a major GC, in percent
   * (WEBHOOKS_WORKER_HEAP_GROWTH_PERCENT; 0 leaves V8's own choice, up to 300%). server/heapPolicy.ts.
   */
  workerHeapGrowthPercent: number;
  /** Origins allowed to frame the portal pages (CSP frame-ancestors); every other page refuses framing. */
  portalFrameAncestors: string[];
  /** The transformation sandbox: CPU deadline and memory of one run, threads per process. */
  transformation: { timeoutMs: number; memoryMb: number; threads: number };
  /** OpenTelemetry trace export; null (the default) loads no tracing code at all. */
  otel: OtelConfig | null;
  /** Bounds on what one tenant or anonymous caller can make the service do (docs/configuration.md, "Limits"). */
  limits: ServiceLimits;
  /** Origins allowed to call /graphql from a browser (WEBHOOKS_CORS_ORIGINS); empty: same origin only. */
  corsOrigins: string[];
  /** Reverse proxies in front of the api whose X-Forwarded-For entry names the client (WEBHOOKS_TRUST_PROXY_HOPS). */
  trustProxyHops: number;
}

export interface ServiceLimits {
  graphqlMaxTokens: number;
  graphqlMaxAliases: number;
  graphqlMaxDepth: number;
  graphqlMaxDirectives: number;
  graphqlMaxCost: number;
  /** Payload bytes of one publishEvents batch; the request-body limit is derived from it. */
  maxBatchBytes: number;
  /** Failed authentications per client address per minute before RATE_LIMITED. */
  authFailuresPerMinute: number;
  subscriptionsPerSocket: number;
  subscriptionsPerOrganization: number;
  responseMaxHeaderBytes: number;
  /** CPU time payload validation may take in one publish request. */
  publishValidationBudgetMs: number;
}

const KEY_HINT = 'generate one with `openssl rand -base64 32`';

/** A 32-byte key in canonical base64, or null when it is not one. */
function parseKey(value: string): Buffer | null {
  const key = Buffer.from(value, 'base64');
  return key.length === 32 && key.toString('base64') === value.replace(/\s/g, '') ? key : null;
}

const envSchema = z.object({
  PORT: integer(1, 65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  WEBHOOKS_ROLES: z
    .string()
    .default('api,worker')
    .transform((value, ctx) => {
      const parts = value.split(',').map((r) => r.trim()).filter(Boolean);
      const roles = new Set<Role>();
      for (const part of parts) {
        if (part !== 'api' && part !== 'worker') {
          ctx.addIssue({ code: 'custom', message: `unknown role "${part}" (expected api, worker or api,worker)` });
          return z.NEVER;
        }
        roles.add(part);
      }
      if (roles.size === 0) {
        ctx.addIssue({ code: 'custom', message: 'must name at least one role (api, worker)' });
        return z.NEVER;
      }
      return roles;
    }),
  WEBHOOKS_MASTER_KEY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return null;
      const key = parseKey(value);
      if (!key) {
        ctx.addIssue({ code: 'custom', message: `must be 32 bytes encoded as base64 (${KEY_HINT})` });
        return z.NEVER;
      }
      return key;
    }),
  WEBHOOKS_PREVIOUS_MASTER_KEYS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const keys: Buffer[] = [];
      const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
      for (const [i, part] of parts.entries()) {
        const key = parseKey(part);
        if (!key) {
          // Never echo the value: it is a key.
          ctx.addIssue({ code: 'custom', message: `entry ${i + 1} of ${parts.length} must be 32 bytes encoded as base64 (comma-separated list of the master keys used before)` });
          return z.NEVER;
        }
        keys.push(key);
      }
      return keys;
    }),
  WEBHOOKS_ALLOW_HTTP: boolean.default(false),
  WEBHOOKS_ALLOWED_CIDRS: z
    .string()
    .default('')
    .superRefine((value, ctx) => {
      const parsed = parseCidrList(value);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
    }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  WEBHOOKS_DATA_DIR: z.string().min(1).default('.data'),
  WEBHOOKS_EMBEDDED_PG_PORT: integer(1, 65535).default(54329),
  WEBHOOKS_RETENTION_DAYS: integer(1, 3650).default(30),
  WEBHOOKS_HISTORY_RETENTION_DAYS: integer(1, 3650).default(90),
  WEBHOOKS_DB_POOL_SIZE: integer(2, 200).default(10),
  WEBHOOKS_PUBLIC_URL: z.url({ message: 'must be an absolute URL' }).optional(),
  WEBHOOKS_PLATFORM_TOKEN: z
    .string()
    .min(32, { message: 'must be at least 32 characters (generate one with `openssl rand -base64 32`)' })
    .max(512, { message: 'must be at most 512 characters' })
    .refine((v) => !/\s/.test(v), { message: 'must not contain whitespace' })
    .optional(),
  WEBHOOKS_ENDPOINT_CACHE_SIZE: integer(100, 1_000_000).default(10_000),
  WEBHOOKS_WORKER_HEAP_GROWTH_PERCENT: integer(0, 300).default(30),
  WEBHOOKS_PORTAL_FRAME_ANCESTORS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const origins = value.split(/[\s,]+/).filter(Boolean);
      for (const origin of origins) {
        // CSP source expressions, restricted to what a platform embedding the portal needs.
        if (!/^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i.test(origin) && origin !== "'self'") {
          ctx.addIssue({ code: 'custom', message: `entry "${origin}" is not an origin such as https://platform.example.com (comma-separated list)` });
          return z.NEVER;
        }
      }
      return origins;
    }),
  WEBHOOKS_TRANSFORMATION_TIMEOUT_MS: integer(10, 10_000).default(200),
  WEBHOOKS_TRANSFORMATION_MEMORY_MB: integer(4, 512).default(32),
  WEBHOOKS_TRANSFORMATION_THREADS: integer(1, 64).default(2),
  ...otelEnvShape,
  WEBHOOKS_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const origins: string[] = [];
      for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
        const origin = canonicalOrigin(part);
        if (!origin) {
          ctx.addIssue({ code: 'custom', message: `entry "${part}" is not an origin like https://console.example.com (scheme, host and port only), or *` });
          return z.NEVER;
        }
        origins.push(origin);
      }
      return origins;
    }),
  WEBHOOKS_TRUST_PROXY_HOPS: integer(0, 10).default(0),
  WEBHOOKS_GRAPHQL_MAX_TOKENS: integer(100, 1_000_000).default(10_000),
  WEBHOOKS_GRAPHQL_MAX_ALIASES: integer(0, 10_000).default(30),
  WEBHOOKS_GRAPHQL_MAX_DEPTH: integer(3, 100).default(12),
  WEBHOOKS_GRAPHQL_MAX_DIRECTIVES: integer(0, 10_000).default(20),
  WEBHOOKS_GRAPHQL_MAX_COST: integer(100, 10_000_000).default(20_000),
  WEBHOOKS_MAX_BATCH_BYTES: integer(256 * 1024, 256 * 1024 * 1024).default(16 * 1024 * 1024),
  WEBHOOKS_AUTH_FAILURES_PER_MINUTE: integer(1, 1_000_000).default(30),
  WEBHOOKS_MAX_SUBSCRIPTIONS_PER_SOCKET: integer(1, 10_000).default(50),
  WEBHOOKS_MAX_SUBSCRIPTIONS_PER_ORG: integer(1, 1_000_000).default(100),
  WEBHOOKS_RESPONSE_MAX_HEADER_BYTES: integer(1024, 1024 * 1024).default(16 * 1024),
  WEBHOOKS_PUBLISH_VALIDATION_BUDGET_MS: integer(10, 60_000).default(1000),
});

/** `scheme://host[:port]` as browsers send it in Origin, `*`, or null for anything else. */
function canonicalOrigin(text: string): string | null {
  if (text === '*') return '*';
  try {
    const url = new URL(text);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) return null;
    if (!/^https?:\/\/[^/]+\/?$/.test(text)) return null;
    return url.origin;
  } catch {
    return null;
  }
}

/** Thrown for configuration that cannot run; its message is one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the environment once. Only this module reads `process.env`; everything else gets
 * values through its `createX(deps)`.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const value = present[name];
    const shown = value !== undefined && !/KEY|URL|HEADERS|TOKEN|SECRET|ENDPOINT/.test(name) && !issue.message.includes(value) ? ` (got "${value}")` : '';
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message}${shown}`);
  }
  const e = parsed.data;
  if (e.DATABASE_URL && !e.WEBHOOKS_MASTER_KEY) {
    throw new ConfigError(
      'Invalid configuration: WEBHOOKS_MASTER_KEY is required when DATABASE_URL is set (generate one with `openssl rand -base64 32`)',
    );
  }
  if (e.WEBHOOKS_HISTORY_RETENTION_DAYS < e.WEBHOOKS_RETENTION_DAYS) {
    throw new ConfigError(
      `Invalid configuration: WEBHOOKS_HISTORY_RETENTION_DAYS (${e.WEBHOOKS_HISTORY_RETENTION_DAYS}) must be at least WEBHOOKS_RETENTION_DAYS (${e.WEBHOOKS_RETENTION_DAYS}): payloads cannot outlive the rows that hold them`,
    );
  }
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL ?? null,
    roles: e.WEBHOOKS_ROLES,
    masterKey: e.WEBHOOKS_MASTER_KEY,
    previousMasterKeys: e.WEBHOOKS_PREVIOUS_MASTER_KEYS,
    allowHttp: e.WEBHOOKS_ALLOW_HTTP,
    allowedCidrs: e.WEBHOOKS_ALLOWED_CIDRS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    dataDir: e.WEBHOOKS_DATA_DIR,
    embeddedPostgresPort: e.WEBHOOKS_EMBEDDED_PG_PORT,
    retentionDays: e.WEBHOOKS_RETENTION_DAYS,
    historyRetentionDays: e.WEBHOOKS_HISTORY_RETENTION_DAYS,
    dbPoolSize: e.WEBHOOKS_DB_POOL_SIZE,
    publicUrl: e.WEBHOOKS_PUBLIC_URL ?? null,
    platformToken: e.WEBHOOKS_PLATFORM_TOKEN ?? null,
    endpointCacheSize: e.WEBHOOKS_ENDPOINT_CACHE_SIZE,
    workerHeapGrowthPercent: e.WEBHOOKS_WORKER_HEAP_GROWTH_PERCENT,
    portalFrameAncestors: e.WEBHOOKS_PORTAL_FRAME_ANCESTORS,
    transformation: {
      timeoutMs: e.WEBHOOKS_TRANSFORMATION_TIMEOUT_MS,
      memoryMb: e.WEBHOOKS_TRANSFORMATION_MEMORY_MB,
      threads: e.WEBHOOKS_TRANSFORMATION_THREADS,
    },
    otel: otelConfig(e),
    corsOrigins: e.WEBHOOKS_CORS_ORIGINS,
    trustProxyHops: e.WEBHOOKS_TRUST_PROXY_HOPS,
    limits: {
      graphqlMaxTokens: e.WEBHOOKS_GRAPHQL_MAX_TOKENS,
      graphqlMaxAliases: e.WEBHOOKS_GRAPHQL_MAX_ALIASES,
      graphqlMaxDepth: e.WEBHOOKS_GRAPHQL_MAX_DEPTH,
      graphqlMaxDirectives: e.WEBHOOKS_GRAPHQL_MAX_DIRECTIVES,
      graphqlMaxCost: e.WEBHOOKS_GRAPHQL_MAX_COST,
      maxBatchBytes: e.WEBHOOKS_MAX_BATCH_BYTES,
      authFailuresPerMinute: e.WEBHOOKS_AUTH_FAILURES_PER_MINUTE,
      subscriptionsPerSocket: e.WEBHOOKS_MAX_SUBSCRIPTIONS_PER_SOCKET,
      subscriptionsPerOrganization: e.WEBHOOKS_MAX_SUBSCRIPTIONS_PER_ORG,
      responseMaxHeaderBytes: e.WEBHOOKS_RESPONSE_MAX_HEADER_BYTES,
      publishValidationBudgetMs: e.WEBHOOKS_PUBLISH_VALIDATION_BUDGET_MS,
    },
  };
}
