-- popi's initial schema: tenants and API keys, users scoped per tenant, their feedback,
-- every summary version, usage counters, and the job queue that replicas share.
-- Applied by `popi migrate` (and at start-up) in one transaction; never edit it once applied:
-- add 0002_….sql instead.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Keys are `<prefix><secret>`-style tokens made by the App; only the lookup prefix and the
-- SHA-256 of the whole secret are stored.
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    prefix        text NOT NULL UNIQUE CHECK (length(prefix) BETWEEN 4 AND 64),
    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
    scopes        text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

-- A user is an external id inside one tenant. feedback_revision counts changes to the
-- user's feedback; a summary built at an older revision is stale.
CREATE TABLE users (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    external_id        text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 256),
    feedback_revision  bigint NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_feedback_at   timestamptz,
    UNIQUE (tenant_id, external_id)
);

-- Feedback: a pair (prompt, chosen, rejected), a statement about the user (text) or content
-- the user wrote (text, optional prompt). The idempotency key is the client's event id.
-- Ids come from the named sequence so a batch insert can take them up front.
CREATE SEQUENCE feedback_event_ids AS bigint;
CREATE TABLE feedback_events (
    id               bigint PRIMARY KEY DEFAULT nextval('feedback_event_ids'),
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key  text CHECK (length(idempotency_key) BETWEEN 1 AND 256),
    kind             text NOT NULL,
    prompt           text,
    chosen           text,
    rejected         text,
    body             text,
    metadata         jsonb NOT NULL DEFAULT '{}',
    occurred_at      timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feedback_events_shape CHECK (
        (kind = 'pair' AND prompt IS NOT NULL AND chosen IS NOT NULL AND rejected IS NOT NULL AND body IS NULL)
        OR (kind = 'statement' AND body IS NOT NULL AND prompt IS NULL AND chosen IS NULL AND rejected IS NULL)
        OR (kind = 'content' AND body IS NOT NULL AND chosen IS NULL AND rejected IS NULL)
    ),
    CONSTRAINT feedback_events_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);
ALTER SEQUENCE feedback_event_ids OWNED BY feedback_events.id;
-- Keyset pagination per user, and erasure.
CREATE INDEX feedback_events_by_user ON feedback_events (user_id, id);
-- Idempotency: one event per client id and user (users are already tenant-scoped).
CREATE UNIQUE INDEX feedback_events_idempotency ON feedback_events (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Every summary a user ever had. The current one is the pinned version if any, else the
-- newest. Edited and restored versions are ordinary versions with their origin recorded.
CREATE TABLE summary_versions (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version            integer NOT NULL CHECK (version >= 1),
    body               text NOT NULL,
    source_event_ids   bigint[] NOT NULL DEFAULT '{}',
    feedback_revision  bigint NOT NULL,
    model_id           text NOT NULL,
    prompt_version     text NOT NULL,
    reward             double precision,
    accuracy           double precision CHECK (accuracy BETWEEN 0 AND 1),
    held_out_count     integer NOT NULL DEFAULT 0 CHECK (held_out_count >= 0),
    candidate_count    integer NOT NULL DEFAULT 0 CHECK (candidate_count >= 0),
    summary_tokens     integer CHECK (summary_tokens >= 0),
    raw_signal_tokens  integer CHECK (raw_signal_tokens >= 0),
    origin             text NOT NULL CHECK (origin IN ('inferred', 'edited', 'restored')),
    restored_from      integer,
    pinned             boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, version),
    CHECK ((origin = 'restored') = (restored_from IS NOT NULL))
);
-- At most one pinned version per user.
CREATE UNIQUE INDEX summary_versions_one_pinned ON summary_versions (user_id) WHERE pinned;

-- Per-user usage, kept for the user's own export and erased with them.
CREATE TABLE usage_counters (
    user_id            bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    generations        bigint NOT NULL DEFAULT 0,
    prompt_tokens      bigint NOT NULL DEFAULT 0,
    completion_tokens  bigint NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- The work queue shared by every replica. Workers claim with FOR UPDATE SKIP LOCKED and
-- hold a lease; a job whose lease expired (its worker vanished) is claimed again.
-- dedup_key merges pending jobs for the same thing (e.g. one refresh per user) and keeps
-- two jobs with one key from running at the same time.
CREATE TABLE jobs (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind              text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    user_id           bigint REFERENCES users (id) ON DELETE CASCADE,
    dedup_key         text,
    payload           jsonb NOT NULL DEFAULT '{}',
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'running', 'done', 'failed', 'superseded')),
    attempts          integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_after         timestamptz NOT NULL DEFAULT now(),
    lease_owner       text,
    lease_expires_at  timestamptz,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
-- Claiming: due pending jobs in order, and running jobs whose lease ran out.
CREATE INDEX jobs_due ON jobs (run_after, id) WHERE state = 'pending';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
-- One pending job per kind and key; the running one per key is looked up when claiming.
CREATE UNIQUE INDEX jobs_pending_dedup ON jobs (kind, dedup_key) WHERE state = 'pending' AND dedup_key IS NOT NULL;
CREATE INDEX jobs_running_dedup ON jobs (kind, dedup_key) WHERE state = 'running' AND dedup_key IS NOT NULL;
-- Erasure, export and "is a refresh pending for this user".
CREATE INDEX jobs_by_user ON jobs (user_id, state) WHERE user_id IS NOT NULL;
-- Purging finished jobs.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
