ALTER TABLE "endpoints" ADD COLUMN "uid" text;--> statement-breakpoint
ALTER TABLE "event_types" ADD COLUMN "uid" text;--> statement-breakpoint
CREATE UNIQUE INDEX "endpoints_org_uid_idx" ON "endpoints" USING btree ("org_id","uid") WHERE uid IS NOT NULL AND deleted_at IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "event_types_org_uid_idx" ON "event_types" USING btree ("org_id","uid") WHERE uid IS NOT NULL;