CREATE TABLE "event_idempotency_keys" (
	"org_id" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"event_id" text NOT NULL,
	CONSTRAINT "event_idempotency_keys_org_id_idempotency_key_pk" PRIMARY KEY("org_id","idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "history_state" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"pending_from_ms" bigint DEFAULT 0 NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"bodies_purged_until_ms" bigint
);
--> statement-breakpoint
DROP INDEX "events_org_idempotency_idx";--> statement-breakpoint
DROP INDEX "attempts_endpoint_stats_idx";--> statement-breakpoint
DROP INDEX "events_retention_idx";--> statement-breakpoint
CREATE INDEX "event_idempotency_keys_event_idx" ON "event_idempotency_keys" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "deliveries_endpoint_dead_idx" ON "deliveries" USING btree ("endpoint_id","id") WHERE status = 'DEAD';--> statement-breakpoint
CREATE INDEX "events_org_ordering_key_idx" ON "events" USING btree ("org_id","ordering_key","id") WHERE ordering_key IS NOT NULL;--> statement-breakpoint
CREATE INDEX "attempts_endpoint_stats_idx" ON "delivery_attempts" USING btree ("endpoint_id","id","succeeded","duration_ms");--> statement-breakpoint
CREATE INDEX "events_retention_idx" ON "events" USING btree ("id") WHERE data IS NOT NULL;