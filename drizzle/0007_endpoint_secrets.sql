ALTER TABLE "endpoints" ADD COLUMN "url_query_sealed" text;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "headers_sealed" text;