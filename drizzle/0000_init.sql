CREATE TYPE "public"."api_key_role" AS ENUM('admin', 'operator', 'publisher', 'viewer');--> statement-breakpoint
CREATE TYPE "public"."attempt_trigger" AS ENUM('SCHEDULED', 'MANUAL', 'TEST');--> statement-breakpoint
CREATE TYPE "public"."circuit_state" AS ENUM('CLOSED', 'OPEN', 'HALF_OPEN');--> statement-breakpoint
CREATE TYPE "public"."delivery_status" AS ENUM('PENDING', 'SUCCEEDED', 'DEAD', 'CANCELLED');--> statement-breakpoint
CREATE TYPE "public"."error_class" AS ENUM('HTTP_STATUS', 'TIMEOUT', 'CONNECTION', 'TLS', 'DNS', 'BLOCKED_ADDRESS');--> statement-breakpoint
CREATE TYPE "public"."ordering_mode" AS ENUM('BEST_EFFORT', 'STRICT');--> statement-breakpoint
CREATE TYPE "public"."plan" AS ENUM('enterprise', 'professional', 'starter');--> statement-breakpoint
CREATE TYPE "public"."signing_algorithm" AS ENUM('HMAC_SHA256', 'ED25519');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"name" text NOT NULL,
	"role" "api_key_role" NOT NULL,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"event_id" text NOT NULL,
	"endpoint_id" text NOT NULL,
	"event_type" text NOT NULL,
	"ordering_key" text,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "deliveries_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"status" "delivery_status" DEFAULT 'PENDING' NOT NULL,
	"is_test" boolean DEFAULT false NOT NULL,
	"attempt_count" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"last_attempt_at" timestamp with time zone,
	"last_attempt_id" text,
	"parked" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "delivery_attempts" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"delivery_id" text NOT NULL,
	"endpoint_id" text NOT NULL,
	"event_type" text NOT NULL,
	"attempt_number" integer NOT NULL,
	"trigger" "attempt_trigger" NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"succeeded" boolean NOT NULL,
	"request_headers" jsonb NOT NULL,
	"response_status" integer,
	"response_headers" jsonb,
	"response_body" text,
	"error_class" "error_class",
	"error_message" text
);
--> statement-breakpoint
CREATE TABLE "endpoints" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"url" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"labels" text[] DEFAULT '{}'::text[] NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"disabled_reason" text,
	"disabled_at" timestamp with time zone,
	"timeout_ms" integer DEFAULT 15000 NOT NULL,
	"retry_initial_backoff_seconds" integer DEFAULT 5 NOT NULL,
	"retry_multiplier" double precision DEFAULT 6 NOT NULL,
	"retry_max_backoff_seconds" integer DEFAULT 36000 NOT NULL,
	"retry_max_attempts" integer DEFAULT 8 NOT NULL,
	"breaker_enabled" boolean DEFAULT true NOT NULL,
	"breaker_failure_threshold" integer DEFAULT 10 NOT NULL,
	"breaker_cooldown_seconds" integer DEFAULT 60 NOT NULL,
	"max_in_flight" integer DEFAULT 16 NOT NULL,
	"rate_limit_per_second" integer,
	"ordering_mode" "ordering_mode" DEFAULT 'BEST_EFFORT' NOT NULL,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"tls_client_certificate_pem" text,
	"tls_client_key_sealed" text,
	"tls_ca_certificate_pem" text,
	"signing_algorithm" "signing_algorithm" DEFAULT 'HMAC_SHA256' NOT NULL,
	"ed25519_grace_until" timestamp with time zone,
	"circuit_state" "circuit_state" DEFAULT 'CLOSED' NOT NULL,
	"circuit_opened_at" timestamp with time zone,
	"circuit_open_until" timestamp with time zone,
	"circuit_cooldown_seconds" integer,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "event_subscriptions" (
	"endpoint_id" text NOT NULL,
	"pattern" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "event_subscriptions_endpoint_id_pattern_pk" PRIMARY KEY("endpoint_id","pattern")
);
--> statement-breakpoint
CREATE TABLE "event_types" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text,
	"name" text NOT NULL,
	"category" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"schema" jsonb,
	"deprecated" boolean DEFAULT false NOT NULL,
	"deprecated_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"type" text NOT NULL,
	"data" jsonb,
	"idempotency_key" text,
	"ordering_key" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"payload_purged_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"plan" "plan" DEFAULT 'enterprise' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "organizations_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"endpoint_id" text,
	"algorithm" "signing_algorithm" NOT NULL,
	"secret_sealed" text NOT NULL,
	"public_key" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "endpoints" ADD CONSTRAINT "endpoints_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "event_subscriptions" ADD CONSTRAINT "event_subscriptions_endpoint_id_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "event_types" ADD CONSTRAINT "event_types_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "signing_keys" ADD CONSTRAINT "signing_keys_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "signing_keys" ADD CONSTRAINT "signing_keys_endpoint_id_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_org_idx" ON "api_keys" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "deliveries_org_idx" ON "deliveries" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "deliveries_org_status_idx" ON "deliveries" USING btree ("org_id","status","id");--> statement-breakpoint
CREATE INDEX "deliveries_endpoint_idx" ON "deliveries" USING btree ("endpoint_id","id");--> statement-breakpoint
CREATE INDEX "deliveries_event_idx" ON "deliveries" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "deliveries_strict_idx" ON "deliveries" USING btree ("endpoint_id","ordering_key","seq") WHERE status = 'PENDING' AND ordering_key IS NOT NULL;--> statement-breakpoint
CREATE INDEX "attempts_delivery_idx" ON "delivery_attempts" USING btree ("delivery_id","attempt_number");--> statement-breakpoint
CREATE INDEX "attempts_org_idx" ON "delivery_attempts" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "attempts_endpoint_stats_idx" ON "delivery_attempts" USING btree ("endpoint_id","started_at","succeeded","duration_ms");--> statement-breakpoint
CREATE INDEX "endpoints_org_idx" ON "endpoints" USING btree ("org_id","id") WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "event_types_builtin_name_idx" ON "event_types" USING btree ("name") WHERE org_id IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "event_types_org_name_idx" ON "event_types" USING btree ("org_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "events_org_idempotency_idx" ON "events" USING btree ("org_id","idempotency_key") WHERE idempotency_key IS NOT NULL;--> statement-breakpoint
CREATE INDEX "events_org_id_idx" ON "events" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "events_org_type_idx" ON "events" USING btree ("org_id","type","id");--> statement-breakpoint
CREATE INDEX "events_retention_idx" ON "events" USING btree ("created_at") WHERE data IS NOT NULL;--> statement-breakpoint
CREATE INDEX "signing_keys_endpoint_idx" ON "signing_keys" USING btree ("endpoint_id");--> statement-breakpoint
CREATE INDEX "signing_keys_org_alg_idx" ON "signing_keys" USING btree ("org_id","algorithm");