-- Publishers cache each organization's endpoints with their compiled content filters, keyed by
-- catalog_version (drizzle/0001): a changed filter must bump it, like a pause or a new pattern.
-- A separate trigger (0001's stays as it is), with the same deferred bump at commit.
CREATE CONSTRAINT TRIGGER endpoints_catalog_version_filter AFTER UPDATE ON endpoints DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (OLD.filter IS DISTINCT FROM NEW.filter)
  EXECUTE FUNCTION webhooks_bump_catalog_version();
