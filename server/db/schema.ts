import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  doublePrecision,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const tstz = (name: string) => timestamp(name, { withTimezone: true });

export const plan = pgEnum('plan', ['enterprise', 'professional', 'starter']);
export const apiKeyRole = pgEnum('api_key_role', ['admin', 'operator', 'publisher', 'viewer']);
export const orderingMode = pgEnum('ordering_mode', ['BEST_EFFORT', 'STRICT']);
export const circuitState = pgEnum('circuit_state', ['CLOSED', 'OPEN', 'HALF_OPEN']);
export const signingAlgorithm = pgEnum('signing_algorithm', ['HMAC_SHA256', 'ED25519']);
export const deliveryStatus = pgEnum('delivery_status', ['PENDING', 'SUCCEEDED', 'DEAD', 'CANCELLED']);
export const attemptTrigger = pgEnum('attempt_trigger', ['SCHEDULED', 'MANUAL', 'TEST']);
export const errorClass = pgEnum('error_class', ['HTTP_STATUS', 'TIMEOUT', 'CONNECTION', 'TLS', 'DNS', 'BLOCKED_ADDRESS', 'TRANSFORMATION']);

export const organizations = pgTable('organizations', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  plan: plan('plan').notNull().default('enterprise'),
  /**
   * Bumped by triggers (drizzle/0001) whenever what publishing looks up changes: the org's
   * active endpoints, their event subscriptions, or the event-type catalog. Publishers cache
   * the lookup and their publish statement writes nothing if this moved meanwhile.
   */
  catalogVersion: bigint('catalog_version', { mode: 'number' }).notNull().default(0),
  createdAt: createdAt(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    role: apiKeyRole('role').notNull(),
    /** SHA-256 (hex) of the full key; the key itself is never stored. */
    keyHash: text('key_hash').notNull().unique(),
    /** First characters of the key, enough for a person to recognise it in a list. */
    keyPrefix: text('key_prefix').notNull(),
    createdAt: createdAt(),
    lastUsedAt: tstz('last_used_at'),
    revokedAt: tstz('revoked_at'),
  },
  (t) => [index('api_keys_org_idx').on(t.orgId, t.id)],
);

export const endpoints = pgTable(
  'endpoints',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    /** Client id chosen by the integrator (domain/clientIds.ts), unique among the org's live endpoints. */
    uid: text('uid'),
    /** The URL with its query values masked (shown to every reader); the query itself is in url_query_sealed. */
    url: text('url').notNull(),
    /** The URL's query string (receivers put tokens there), sealed with the master key; null without one. */
    urlQuerySealed: text('url_query_sealed'),
    description: text('description').notNull().default(''),
    labels: text('labels').array().notNull().default(sql`'{}'::text[]`),
    active: boolean('active').notNull().default(true),
    disabledReason: text('disabled_reason'),
    disabledAt: tstz('disabled_at'),
    timeoutMs: integer('timeout_ms').notNull().default(15000),
    retryInitialBackoffSeconds: integer('retry_initial_backoff_seconds').notNull().default(5),
    retryMultiplier: doublePrecision('retry_multiplier').notNull().default(6),
    retryMaxBackoffSeconds: integer('retry_max_backoff_seconds').notNull().default(36000),
    retryMaxAttempts: integer('retry_max_attempts').notNull().default(8),
    breakerEnabled: boolean('breaker_enabled').notNull().default(true),
    breakerFailureThreshold: integer('breaker_failure_threshold').notNull().default(10),
    breakerCooldownSeconds: integer('breaker_cooldown_seconds').notNull().default(60),
    maxInFlight: integer('max_in_flight').notNull().default(16),
    rateLimitPerSecond: integer('rate_limit_per_second'),
    orderingMode: orderingMode('ordering_mode').notNull().default('BEST_EFFORT'),
    /** Custom header names with masked values; the values are in headers_sealed. */
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    /** JSON of the custom headers (names and values), sealed with the master key; null without any. */
    headersSealed: text('headers_sealed'),
    tlsClientCertificatePem: text('tls_client_certificate_pem'),
    /** Client private key, sealed with the master key. */
    tlsClientKeySealed: text('tls_client_key_sealed'),
    tlsCaCertificatePem: text('tls_ca_certificate_pem'),
    signingAlgorithm: signingAlgorithm('signing_algorithm').notNull().default('HMAC_SHA256'),
    /** After switching away from Ed25519, keep sending v1a signatures until then. */
    ed25519GraceUntil: tstz('ed25519_grace_until'),
    circuitState: circuitState('circuit_state').notNull().default('CLOSED'),
    circuitOpenedAt: tstz('circuit_opened_at'),
    circuitOpenUntil: tstz('circuit_open_until'),
    circuitCooldownSeconds: integer('circuit_cooldown_seconds'),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    /** CEL content filter (domain/contentFilter.ts); a change bumps catalog_version (drizzle/0003). */
    filter: text('filter'),
    /** Filter evaluations that failed (counted as "no match"), flushed by the publishers now and then. */
    filterErrorCount: bigint('filter_error_count', { mode: 'number' }).notNull().default(0),
    filterLastError: text('filter_last_error'),
    filterLastErrorAt: tstz('filter_last_error_at'),
    /** JavaScript `function handler(webhook)` run in the sandbox before signing (engine/transform). */
    transformation: text('transformation'),
    createdAt: createdAt(),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
    /** Deleted endpoints stay for the delivery history but are invisible to every query. */
    deletedAt: tstz('deleted_at'),
  },
  (t) => [
    index('endpoints_org_idx').on(t.orgId, t.id).where(sql`deleted_at IS NULL`),
    // A deleted endpoint gives its uid up: the next endpoint may take it.
    uniqueIndex('endpoints_org_uid_idx').on(t.orgId, t.uid).where(sql`uid IS NOT NULL AND deleted_at IS NULL`),
  ],
);

export const eventTypes = pgTable(
  'event_types',
  {
    id: text('id').primaryKey(),
    /** Null for the built-in catalog shared by every organization. */
    orgId: text('org_id').references(() => organizations.id, { onDelete: 'cascade' }),
    /** Client id chosen by the integrator; custom types only (built-in ones have none). */
    uid: text('uid'),
    name: text('name').notNull(),
    category: text('category').notNull(),
    description: text('description').notNull().default(''),
    schema: jsonb('schema').$type<Record<string, unknown>>(),
    deprecated: boolean('deprecated').notNull().default(false),
    deprecatedAt: tstz('deprecated_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('event_types_builtin_name_idx').on(t.name).where(sql`org_id IS NULL`),
    uniqueIndex('event_types_org_name_idx').on(t.orgId, t.name),
    uniqueIndex('event_types_org_uid_idx').on(t.orgId, t.uid).where(sql`uid IS NOT NULL`),
  ],
);

export const eventSubscriptions = pgTable(
  'event_subscriptions',
  {
    endpointId: text('endpoint_id').notNull().references(() => endpoints.id, { onDelete: 'cascade' }),
    pattern: text('pattern').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.endpointId, t.pattern] })],
);

export const signingKeys = pgTable(
  'signing_keys',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    /** Set for HMAC keys (one secret per endpoint); null for the org's Ed25519 keys. */
    endpointId: text('endpoint_id').references(() => endpoints.id, { onDelete: 'cascade' }),
    algorithm: signingAlgorithm('algorithm').notNull(),
    /** HMAC secret or Ed25519 seed, sealed with the master key. */
    secretSealed: text('secret_sealed').notNull(),
    /** `whpk_...` for Ed25519 keys. */
    publicKey: text('public_key'),
    createdAt: createdAt(),
    /** End of a rotation grace period; the key signs until then. */
    expiresAt: tstz('expires_at'),
    revokedAt: tstz('revoked_at'),
  },
  (t) => [
    index('signing_keys_endpoint_idx').on(t.endpointId),
    index('signing_keys_org_alg_idx').on(t.orgId, t.algorithm),
  ],
);

// The three hot tables below (written thousands of times per second) carry no foreign keys:
// every FK check takes a KEY SHARE lock on the parent row, and thousands of inserts per second
// against one endpoint row turn into multixact contention. Integrity comes from the engine,
// which writes them only inside the transaction that checked the parents, and from the fact
// that organizations and endpoints are never hard-deleted.
//
// In the database they are partitioned by RANGE (id), one partition per UTC day plus a DEFAULT
// partition (drizzle cannot express partitioning: see the *_history_custom migration,
// domain/historyPartitions.ts and db/repos/historyPartitions.ts). Every index below is a
// partitioned index. Unique indexes must contain the partition key, hence the publish
// idempotency keys live in `event_idempotency_keys`. Every hot statement names an id range (or
// ids) of the table it reads, so Postgres plans only the partitions concerned.
export const events = pgTable(
  'events',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull(),
    type: text('type').notNull(),
    /** Null once the payload has been purged after the retention period. */
    data: jsonb('data').$type<Record<string, unknown>>(),
    /** Caller-supplied idempotency key (`eventId` in the API); unique per organization through `event_idempotency_keys`. */
    idempotencyKey: text('idempotency_key'),
    orderingKey: text('ordering_key'),
    createdAt: createdAt(),
    payloadPurgedAt: tstz('payload_purged_at'),
    /** W3C traceparent of the publish (the caller's, or the publish span's): continued on every delivery request. */
    traceparent: text('traceparent'),
  },
  (t) => [
    index('events_org_id_idx').on(t.orgId, t.id),
    index('events_org_type_idx').on(t.orgId, t.type, t.id),
    // events(filter: {orderingKey}): the events of one resource, without reading the org's history.
    index('events_org_ordering_key_idx').on(t.orgId, t.orderingKey, t.id).where(sql`ordering_key IS NOT NULL`),
    // Payload retention: the events that still carry a payload, by id (time) range.
    index('events_retention_idx').on(t.id).where(sql`data IS NOT NULL`),
  ],
);

/**
 * Publish idempotency (`eventId`): one row per key and organization, pointing at the first event.
 * Its own table because a unique index on the partitioned `events` would have to contain the
 * partition key (the event id). Rows leave with their event's partition (history retention).
 */
export const eventIdempotencyKeys = pgTable(
  'event_idempotency_keys',
  {
    orgId: text('org_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    eventId: text('event_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.idempotencyKey] }), index('event_idempotency_keys_event_idx').on(t.eventId)],
);

export const deliveries = pgTable(
  'deliveries',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull(),
    eventId: text('event_id').notNull(),
    endpointId: text('endpoint_id').notNull(),
    /** Copied from the event so delivery lists filter by type without a join. */
    eventType: text('event_type').notNull(),
    orderingKey: text('ordering_key'),
    /** Publish order per endpoint (ids from one millisecond do not sort by publish order). */
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
    status: deliveryStatus('status').notNull().default('PENDING'),
    isTest: boolean('is_test').notNull().default(false),
    attemptCount: integer('attempt_count').notNull().default(0),
    nextAttemptAt: tstz('next_attempt_at'),
    lastAttemptAt: tstz('last_attempt_at'),
    lastAttemptId: text('last_attempt_id'),
    /** STRICT ordering: waiting behind an earlier delivery with the same ordering key. */
    parked: boolean('parked').notNull().default(false),
    createdAt: createdAt(),
    completedAt: tstz('completed_at'),
  },
  (t) => [
    index('deliveries_org_idx').on(t.orgId, t.id),
    // deliveries(filter: { statuses }) for the statuses a list needs an index for (pending, dead and
    // cancelled deliveries: few among many). SUCCEEDED, most of every history, is left out: the
    // outcome update of a successful delivery (non-HOT: `status` is indexed) wrote an entry here
    // for every delivery, and a list of successes reads deliveries_org_idx, where nearly every
    // row matches.
    index('deliveries_org_status_idx').on(t.orgId, t.status, t.id).where(sql`status <> 'SUCCEEDED'`),
    // deliveries(filter: { eventType }) newest first: without it a rare type's first page read a
    // day's other deliveries first (p99 284 ms at 10,000,000 attempts, docs/benchmarks.md).
    index('deliveries_org_type_idx').on(t.orgId, t.eventType, t.id),
    index('deliveries_endpoint_idx').on(t.endpointId, t.id),
    // An endpoint's dead letters, newest first, without reading its other deliveries (a few
    // percent at most are DEAD; entries are added only when a delivery dies).
    index('deliveries_endpoint_dead_idx').on(t.endpointId, t.id).where(sql`status = 'DEAD'`),
    index('deliveries_event_idx').on(t.eventId),
    // The backlog behind one endpoint (circuit panel): its pending deliveries, oldest first.
    index('deliveries_endpoint_pending_idx').on(t.endpointId, t.id).where(sql`status = 'PENDING'`),
    index('deliveries_strict_idx')
      .on(t.endpointId, t.orderingKey, t.seq)
      .where(sql`status = 'PENDING' AND ordering_key IS NOT NULL`),
  ],
);

export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull(),
    deliveryId: text('delivery_id').notNull(),
    endpointId: text('endpoint_id').notNull(),
    eventType: text('event_type').notNull(),
    attemptNumber: integer('attempt_number').notNull(),
    trigger: attemptTrigger('trigger').notNull(),
    /** Equal, to the millisecond, to the time in `id` (deliveryStats reads its windows by id). */
    startedAt: tstz('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    succeeded: boolean('succeeded').notNull(),
    requestHeaders: jsonb('request_headers').$type<Record<string, string>>().notNull(),
    responseStatus: integer('response_status'),
    responseHeaders: jsonb('response_headers').$type<Record<string, string>>(),
    /** First 4 KiB of the response body; purged with the payload after the retention period. */
    responseBody: text('response_body'),
    errorClass: errorClass('error_class'),
    errorMessage: text('error_message'),
    /** The body as sent when a transformation changed it (else null: the envelope rebuilt from the event). */
    requestBody: text('request_body'),
  },
  (t) => [
    index('attempts_delivery_idx').on(t.deliveryId, t.attemptNumber),
    index('attempts_org_idx').on(t.orgId, t.id),
    // Covering index so deliveryStats is an index-only scan over one endpoint's window. Keyed by
    // id, not started_at: an attempt's id carries its start time to the millisecond (dispatcher),
    // and a window given as an id range both serves this index and prunes the day partitions.
    index('attempts_endpoint_stats_idx').on(t.endpointId, t.id, t.succeeded, t.durationMs),
  ],
);

/**
 * Embeddable portal sessions (services/portalSessions.ts): a one-time link token exchanged for a
 * short-lived session token. Only hashes of both are stored.
 */
export const portalSessions = pgTable(
  'portal_sessions',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    role: apiKeyRole('role').notNull(),
    /** Null: every endpoint; otherwise only endpoints carrying one of these labels. */
    labels: text('labels').array(),
    displayName: text('display_name'),
    accentColor: text('accent_color'),
    /** SHA-256 (hex) of the one-time link token; cleared once it has been exchanged. */
    linkHash: text('link_hash').unique(),
    /** SHA-256 (hex) of the session token the link was exchanged for. */
    sessionHash: text('session_hash').unique(),
    /** The API key that created the session. */
    createdByKeyId: text('created_by_key_id').notNull(),
    createdAt: createdAt(),
    expiresAt: tstz('expires_at').notNull(),
    exchangedAt: tstz('exchanged_at'),
    revokedAt: tstz('revoked_at'),
  },
  (t) => [index('portal_sessions_org_idx').on(t.orgId, t.expiresAt).where(sql`revoked_at IS NULL`)],
);

/**
 * Idempotency-Key claims of HTTP mutations (services/idempotency.ts): one row per organization and
 * key, RUNNING while the first request executes (its lease kept fresh), then DONE with that
 * request's response sealed with the master key (a createEndpoint response holds a secret).
 * Rows older than 24 hours count as absent and are purged by the maintenance job.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** The API key that sent the first request: replays go to it alone. */
    apiKeyId: text('api_key_id').notNull(),
    /** SHA-256 of the operation, its name and its variables (domain/idempotency.ts). */
    requestHash: text('request_hash').notNull(),
    state: text('state').$type<'RUNNING' | 'DONE'>().notNull(),
    /** While RUNNING: past this, the request that claimed the key is taken to have died. */
    leaseUntil: tstz('lease_until'),
    responseSealed: text('response_sealed'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('idempotency_keys_org_key_idx').on(t.orgId, t.key), index('idempotency_keys_created_idx').on(t.createdAt)],
);

/**
 * History bookkeeping, one row (id 1), written by history maintenance (engine/history.ts).
 * `pendingFromMs`: no day partition of `deliveries` older than the one holding this time has a
 * PENDING delivery (the DEFAULT partition aside), so statements about pending deliveries read
 * from there on. Lowered before a delivery is brought back to PENDING (retry, replay);
 * `version` tells maintenance that happened while it was computing a higher value.
 * `bodiesPurgedUntilMs`: response bodies of attempts before this time are purged.
 */
export const historyState = pgTable('history_state', {
  id: integer('id').primaryKey().default(1),
  pendingFromMs: bigint('pending_from_ms', { mode: 'number' }).notNull().default(0),
  version: bigint('version', { mode: 'number' }).notNull().default(0),
  bodiesPurgedUntilMs: bigint('bodies_purged_until_ms', { mode: 'number' }),
});

/** An organization as the services see it (catalogVersion is publishing's cache key, nothing more). */
export type Organization = Omit<typeof organizations.$inferSelect, 'catalogVersion'>;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type EndpointRow = typeof endpoints.$inferSelect;
export type EventTypeRow = typeof eventTypes.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type DeliveryRow = typeof deliveries.$inferSelect;
export type AttemptRow = typeof deliveryAttempts.$inferSelect;
export type PortalSessionRow = typeof portalSessions.$inferSelect;
export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
