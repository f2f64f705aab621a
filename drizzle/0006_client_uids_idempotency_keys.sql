CREATE TABLE "idempotency_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"key" text NOT NULL,
	"api_key_id" text NOT NULL,
	"request_hash" text NOT NULL,
	"state" text NOT NULL,
	"lease_until" timestamp with time zone,
	"response_sealed" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "uid" text;--> statement-breakpoint
ALTER TABLE "event_types" ADD COLUMN "uid" text;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "idempotency_keys_org_key_idx" ON "idempotency_keys" USING btree ("org_id","key");--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "endpoints_org_uid_idx" ON "endpoints" USING btree ("org_id","uid") WHERE uid IS NOT NULL AND deleted_at IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "event_types_org_uid_idx" ON "event_types" USING btree ("org_id","uid") WHERE uid IS NOT NULL;