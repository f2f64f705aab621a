DROP INDEX "deliveries_org_status_idx";--> statement-breakpoint
CREATE INDEX "deliveries_org_status_idx" ON "deliveries" USING btree ("org_id","status","id") WHERE status <> 'SUCCEEDED';