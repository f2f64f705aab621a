-- History at platform scale: `events`, `deliveries` and `delivery_attempts` become tables
-- partitioned by RANGE (id) (ids are time-ordered: see server/domain/ids.ts), one partition per
-- UTC day (created ahead of time by the service: engine/history.ts) plus a DEFAULT partition, so
-- a write never fails for want of a partition and rows carried over past their day have a home.
--
-- An existing table is not rewritten: it is renamed to <table>_legacy and attached as the
-- partition of every id below the migration's moment (MINVALUE .. now), keeping its indexes
-- (attached to the new partitioned ones). Attaching reads the table once to check that bound.
-- Retention drops the legacy partition as a whole once its newest row is past the horizon.

-- The smallest id of `prefix` made at millisecond `ms` (server/domain/ids.ts idLowerBound): the
-- time in 10 Crockford base32 digits, then zeros. One expression and not STRICT (greatest() is not
-- strict), so Postgres inlines it into the calling statement: the bench calls it for every row.
CREATE FUNCTION webhooks_id_bound(prefix text, ms bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT prefix || '_'
      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((greatest(ms, 0) >> 45) & 31)::int + 1, 1)
      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((greatest(ms, 0) >> 40) & 31)::int + 1, 1)
      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((greatest(ms, 0) >> 35) & 31)::int + 1, 1)
      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((greatest(ms, 0) >> 30) & 31)::int + 1, 1)
      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((greatest(ms, 0) >> 25) & 31)::int + 1, 1)
      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((greatest(ms, 0) >> 20) & 31)::int + 1, 1)
      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((greatest(ms, 0) >> 15) & 31)::int + 1, 1)
      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((greatest(ms, 0) >> 10) & 31)::int + 1, 1)
      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((greatest(ms, 0) >> 5) & 31)::int + 1, 1)
      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((greatest(ms, 0) >> 0) & 31)::int + 1, 1)
      || '0000000000000000'
$$;
--> statement-breakpoint
CREATE FUNCTION webhooks_partition_history_table(tbl text, prefix text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  legacy text := tbl || '_legacy';
  nsp text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl::regclass);
  bound text;
  idx record;
  col record;
  def text;
  pk text;
  has_rows boolean;
BEGIN
  EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', tbl);
  -- Every id made before this moment (ids of the future, from a skewed clock, go to DEFAULT below).
  bound := webhooks_id_bound(prefix, (extract(epoch FROM clock_timestamp()) * 1000)::bigint + 1);
  EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, legacy);
  SELECT c.relname INTO pk FROM pg_constraint k JOIN pg_class c ON c.oid = k.conindid
  WHERE k.conrelid = legacy::regclass AND k.contype = 'p';
  -- The partitioned table takes the index names (later migrations refer to them).
  FOR idx IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = legacy::regclass LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', idx.relname, idx.relname || '_legacy');
  END LOOP;
  EXECUTE format(
    'CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING CONSTRAINTS) PARTITION BY RANGE (id)',
    tbl, legacy);
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (id)', tbl, pk);
  FOR idx IN
    SELECT i.indexrelid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = legacy::regclass AND c.relname <> pk || '_legacy'
  LOOP
    def := pg_get_indexdef(idx.indexrelid);
    def := replace(def, format(' INDEX %s ON %s.%s ', quote_ident(idx.relname), quote_ident(nsp), quote_ident(legacy)),
                        format(' INDEX %s ON %s.%s ', quote_ident(left(idx.relname, -length('_legacy'))), quote_ident(nsp), quote_ident(tbl)));
    EXECUTE def;
  END LOOP;
  -- Identity columns (deliveries.seq) continue on the partitioned table, after the last value used.
  FOR col IN SELECT a.attname FROM pg_attribute a WHERE a.attrelid = legacy::regclass AND a.attidentity <> '' AND NOT a.attisdropped LOOP
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), greatest((SELECT max(%I) FROM %I), 1))', tbl, col.attname, col.attname, legacy);
    EXECUTE format('ALTER TABLE %I ALTER COLUMN %I DROP IDENTITY', legacy, col.attname);
  END LOOP;
  EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', tbl || '_default', tbl);
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', legacy) INTO STRICT has_rows;
  IF NOT has_rows THEN
    -- A new database: day partitions only.
    EXECUTE format('DROP TABLE %I', legacy);
    RETURN;
  END IF;
  EXECUTE format('WITH moved AS (DELETE FROM %I WHERE id >= %L RETURNING *) INSERT INTO %I OVERRIDING SYSTEM VALUE SELECT * FROM moved', legacy, bound, tbl || '_default');
  EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', tbl, legacy, bound);
END $$;
--> statement-breakpoint
SELECT webhooks_partition_history_table('events', 'evt');
--> statement-breakpoint
SELECT webhooks_partition_history_table('deliveries', 'dlv');
--> statement-breakpoint
SELECT webhooks_partition_history_table('delivery_attempts', 'att');
--> statement-breakpoint
DROP FUNCTION webhooks_partition_history_table(text, text);
--> statement-breakpoint
-- The unique index on events (org_id, idempotency_key) went with migration 0008: its keys move here.
INSERT INTO event_idempotency_keys (org_id, idempotency_key, event_id)
SELECT org_id, idempotency_key, id FROM events WHERE idempotency_key IS NOT NULL
ON CONFLICT DO NOTHING;
--> statement-breakpoint
-- Until maintenance has looked, pending deliveries may be in any partition.
INSERT INTO history_state (id, pending_from_ms) VALUES (1, 0) ON CONFLICT DO NOTHING;
