-- What each user and tenant stores, kept exact by triggers on every insert and delete of
-- feedback, so quotas are checked without counting: events, and their bytes as stored (texts,
-- metadata as text, idempotency key).
ALTER TABLE users
    ADD COLUMN stored_events bigint NOT NULL DEFAULT 0,
    ADD COLUMN stored_bytes  bigint NOT NULL DEFAULT 0;
ALTER TABLE tenants
    ADD COLUMN stored_events bigint NOT NULL DEFAULT 0,
    ADD COLUMN stored_bytes  bigint NOT NULL DEFAULT 0;

CREATE FUNCTION feedback_event_bytes(prompt text, chosen text, rejected text, body text, metadata jsonb,
                                     idempotency_key text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (coalesce(octet_length(prompt), 0) + coalesce(octet_length(chosen), 0)
          + coalesce(octet_length(rejected), 0) + coalesce(octet_length(body), 0)
          + octet_length(metadata::text) + coalesce(octet_length(idempotency_key), 0))::bigint
$$;

-- Adds (insert) or takes away (delete) the changed rows to their users and tenants (one statement's rows at once).
CREATE FUNCTION feedback_events_count_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    direction bigint := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    WITH changed AS (
        SELECT user_id, count(*) AS events, sum(feedback_event_bytes(prompt, chosen, rejected, body, metadata, idempotency_key)) AS bytes
        FROM changed_rows GROUP BY user_id
    ), by_user AS (
        UPDATE users SET stored_events = stored_events + direction * changed.events,
                         stored_bytes = stored_bytes + direction * changed.bytes
        FROM changed WHERE users.id = changed.user_id
        RETURNING users.tenant_id, changed.events, changed.bytes
    )
    UPDATE tenants SET stored_events = stored_events + direction * t.events,
                       stored_bytes = stored_bytes + direction * t.bytes
    FROM (SELECT tenant_id, sum(events) AS events, sum(bytes) AS bytes FROM by_user GROUP BY tenant_id) t
    WHERE tenants.id = t.tenant_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER feedback_events_counted_insert AFTER INSERT ON feedback_events
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION feedback_events_count_changes();
CREATE TRIGGER feedback_events_counted_delete AFTER DELETE ON feedback_events
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION feedback_events_count_changes();

-- A user deleted with its events still attached (ON DELETE CASCADE runs after the user row is
-- gone, so the trigger above finds no user) gives its counts back to the tenant here.
CREATE FUNCTION users_return_storage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET stored_events = stored_events - OLD.stored_events,
                       stored_bytes = stored_bytes - OLD.stored_bytes
    WHERE id = OLD.tenant_id AND (OLD.stored_events <> 0 OR OLD.stored_bytes <> 0);
    RETURN NULL;
END
$$;
CREATE TRIGGER users_storage_returned AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_return_storage();

-- What is stored already.
WITH per_user AS (
    SELECT user_id, count(*) AS events,
           sum(feedback_event_bytes(prompt, chosen, rejected, body, metadata, idempotency_key)) AS bytes
    FROM feedback_events GROUP BY user_id
)
UPDATE users SET stored_events = per_user.events, stored_bytes = per_user.bytes
FROM per_user WHERE users.id = per_user.user_id;
WITH per_tenant AS (
    SELECT tenant_id, sum(stored_events) AS events, sum(stored_bytes) AS bytes FROM users GROUP BY tenant_id
)
UPDATE tenants SET stored_events = per_tenant.events, stored_bytes = per_tenant.bytes
FROM per_tenant WHERE tenants.id = per_tenant.tenant_id;
