-- The requests table becomes the queue (issue 15): a worker claims rows of one batch key with
-- SELECT ... FOR UPDATE SKIP LOCKED and holds them under a lease it renews while the batch runs.
-- The pg-boss queues and partition tables go: their state only duplicated these rows.

-- AlterTable
ALTER TABLE "requests" ADD COLUMN "lease_expires_at" TIMESTAMPTZ(3);

-- Rows running under a pg-boss lease cannot be renewed once pg-boss is gone: marked expired, they
-- are claimed again at once, and the attempt guard (status, attempts) still keeps a late result
-- of an old worker from counting.
UPDATE "requests" SET "lease_expires_at" = now() WHERE "status" = 'running';

-- DropIndex
DROP INDEX "requests_status_queue_name_created_at_idx";

-- AlterTable
ALTER TABLE "requests" DROP COLUMN "queue_name",
DROP COLUMN "boss_job_id";

-- CreateIndex: the rows a claim batches together (same batch key, claimable, oldest first).
CREATE INDEX "requests_batch_key_status_created_at_idx" ON "requests"("batch_key", "status", "created_at");

-- The schema pg-boss created for itself at run time (never by a migration).
DROP SCHEMA IF EXISTS "pgboss" CASCADE;
