-- A fair job queue. Each job records its tenant (its user's), so a tenant's queued jobs can be
-- counted against a cap, and each tenant records when a worker last claimed one of its jobs, so
-- claims go round-robin by tenant: the tenant served longest ago goes first, and a tenant with a
-- thousand queued jobs no longer delays another tenant's one behind all of them.
ALTER TABLE jobs ADD COLUMN tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE;
UPDATE jobs SET tenant_id = users.tenant_id FROM users WHERE jobs.user_id = users.id;
-- Counting a tenant's queued jobs of a kind (the cap).
CREATE INDEX jobs_pending_by_tenant ON jobs (tenant_id, kind) WHERE state = 'pending';

CREATE TABLE job_tenant_turns (
    tenant_id        uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    last_claimed_at  timestamptz NOT NULL
);
