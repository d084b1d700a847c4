-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "RequestKind" AS ENUM ('generate', 'noise_demo');

-- CreateEnum
CREATE TYPE "RequestStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "Platform" AS ENUM ('discord', 'slack', 'web', 'cli');

-- CreateTable
CREATE TABLE "requests" (
    "id" UUID NOT NULL,
    "kind" "RequestKind" NOT NULL,
    "status" "RequestStatus" NOT NULL DEFAULT 'queued',
    "platform" "Platform" NOT NULL,
    "workspace_id" TEXT,
    "channel_id" TEXT,
    "user_id" TEXT NOT NULL,
    "user_key" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "sampler" TEXT,
    "steps" INTEGER,
    "eta" DOUBLE PRECISION,
    "seed" BIGINT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 1,
    "options" JSONB NOT NULL DEFAULT '{}',
    "noise_demo" JSONB,
    "input_image" BYTEA,
    "batch_key" TEXT NOT NULL,
    "queue_name" TEXT NOT NULL,
    "boss_job_id" UUID,
    "progress_step" INTEGER,
    "progress_total" INTEGER,
    "preview_png" BYTEA,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "reply_to" JSONB NOT NULL,
    "delivered_at" TIMESTAMPTZ(3),
    "derived_from_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "queue_ms" INTEGER,
    "sampling_ms" INTEGER,
    "total_ms" INTEGER,
    "worker_id" TEXT,

    CONSTRAINT "requests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "request_images" (
    "request_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "content_type" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    "bytes" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "request_images_pkey" PRIMARY KEY ("request_id","index")
);

-- CreateTable
CREATE TABLE "request_attempts" (
    "request_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "worker_id" TEXT NOT NULL,
    "batch_id" UUID NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "outcome" TEXT,
    "error" TEXT,

    CONSTRAINT "request_attempts_pkey" PRIMARY KEY ("request_id","attempt")
);

-- CreateIndex
CREATE INDEX "requests_status_created_at_idx" ON "requests"("status", "created_at");

-- CreateIndex
CREATE INDEX "requests_user_key_created_at_idx" ON "requests"("user_key", "created_at");

-- CreateIndex
CREATE INDEX "requests_user_key_status_idx" ON "requests"("user_key", "status");

-- CreateIndex
CREATE INDEX "requests_platform_status_delivered_at_idx" ON "requests"("platform", "status", "delivered_at");

-- CreateIndex
CREATE INDEX "requests_status_queue_name_created_at_idx" ON "requests"("status", "queue_name", "created_at");

-- AddForeignKey
ALTER TABLE "request_images" ADD CONSTRAINT "request_images_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "requests"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "request_attempts" ADD CONSTRAINT "request_attempts_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "requests"("id") ON DELETE CASCADE ON UPDATE CASCADE;

