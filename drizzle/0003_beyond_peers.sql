ALTER TYPE "public"."error_class" ADD VALUE 'TRANSFORMATION';--> statement-breakpoint
CREATE TABLE "portal_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"role" "api_key_role" NOT NULL,
	"labels" text[],
	"display_name" text,
	"accent_color" text,
	"link_hash" text,
	"session_hash" text,
	"created_by_key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"exchanged_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "portal_sessions_link_hash_unique" UNIQUE("link_hash"),
	CONSTRAINT "portal_sessions_session_hash_unique" UNIQUE("session_hash")
);
--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD COLUMN "request_body" text;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "filter" text;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "filter_error_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "filter_last_error" text;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "filter_last_error_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "transformation" text;--> statement-breakpoint
ALTER TABLE "portal_sessions" ADD CONSTRAINT "portal_sessions_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "portal_sessions_org_idx" ON "portal_sessions" USING btree ("org_id","expires_at") WHERE revoked_at IS NULL;