import { z } from 'zod';
import { parseCidrList } from './domain/addressGuard.js';

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
  dataDir: string;
  embeddedPostgresPort: number;
  /** Days payloads and response bodies are kept (WEBHOOKS_RETENTION_DAYS). */
  retentionDays: number;
  /** Days whole rows of finished deliveries, their events and attempts are kept (WEBHOOKS_HISTORY_RETENTION_DAYS). */
  historyRetentionDays: number;
  dbPoolSize: number;
  publicUrl: string | null;
}

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }));

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
  WEBHOOKS_DATA_DIR: z.string().min(1).default('.data'),
  WEBHOOKS_EMBEDDED_PG_PORT: integer(1, 65535).default(54329),
  WEBHOOKS_RETENTION_DAYS: integer(1, 3650).default(30),
  WEBHOOKS_HISTORY_RETENTION_DAYS: integer(1, 3650).default(90),
  WEBHOOKS_DB_POOL_SIZE: integer(2, 200).default(10),
  WEBHOOKS_PUBLIC_URL: z.url({ message: 'must be an absolute URL' }).optional(),
});

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
    const shown = value !== undefined && !/KEY|URL/.test(name) && !issue.message.includes(value) ? ` (got "${value}")` : '';
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
    dataDir: e.WEBHOOKS_DATA_DIR,
    embeddedPostgresPort: e.WEBHOOKS_EMBEDDED_PG_PORT,
    retentionDays: e.WEBHOOKS_RETENTION_DAYS,
    historyRetentionDays: e.WEBHOOKS_HISTORY_RETENTION_DAYS,
    dbPoolSize: e.WEBHOOKS_DB_POOL_SIZE,
    publicUrl: e.WEBHOOKS_PUBLIC_URL ?? null,
  };
}
