ALTER TABLE "organizations" ADD COLUMN "catalog_version" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Publishers cache what they look up per organization (active endpoints with their patterns,
-- event types) and check catalog_version in the publish statement itself. Every change to that
-- data bumps it, whoever makes it: the api's mutations, the worker's 410/breaker disables.
-- Deferred to commit, so the organization's row is the last lock a transaction takes: a worker
-- disabling one endpoint while an admin pauses another of the same organization cannot
-- deadlock on it.
CREATE FUNCTION webhooks_bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  org text;
BEGIN
  IF TG_TABLE_NAME = 'event_subscriptions' THEN
    SELECT e.org_id INTO org FROM endpoints e WHERE e.id = COALESCE(NEW.endpoint_id, OLD.endpoint_id);
  ELSE
    org := CASE WHEN TG_OP = 'DELETE' THEN OLD.org_id ELSE NEW.org_id END;
  END IF;
  IF TG_TABLE_NAME = 'event_types' AND org IS NULL THEN
    -- A built-in type: every organization's catalog changed.
    UPDATE organizations SET catalog_version = catalog_version + 1;
  ELSIF org IS NOT NULL THEN
    UPDATE organizations SET catalog_version = catalog_version + 1 WHERE id = org;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER endpoints_catalog_version_changed AFTER INSERT OR DELETE ON endpoints DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION webhooks_bump_catalog_version();
--> statement-breakpoint
-- Breaker bookkeeping updates endpoints on every failure: only what publishing reads counts.
CREATE CONSTRAINT TRIGGER endpoints_catalog_version_updated AFTER UPDATE ON endpoints DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
  EXECUTE FUNCTION webhooks_bump_catalog_version();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER event_subscriptions_catalog_version AFTER INSERT OR UPDATE OR DELETE ON event_subscriptions DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION webhooks_bump_catalog_version();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER event_types_catalog_version_changed AFTER INSERT OR DELETE ON event_types DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION webhooks_bump_catalog_version();
--> statement-breakpoint
-- Every process start refreshes the built-ins' category and description: that is no change.
CREATE CONSTRAINT TRIGGER event_types_catalog_version_updated AFTER UPDATE ON event_types DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.schema IS DISTINCT FROM NEW.schema
                     OR OLD.deprecated IS DISTINCT FROM NEW.deprecated OR OLD.deprecated_at IS DISTINCT FROM NEW.deprecated_at
                     OR OLD.org_id IS DISTINCT FROM NEW.org_id)
  EXECUTE FUNCTION webhooks_bump_catalog_version();
