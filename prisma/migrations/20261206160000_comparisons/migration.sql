-- /compare in the chat apps is stored (its runs, where its table is, what each run became) and leased to
-- the bot process running it, so that a comparison whose process died is finished by the next one.
-- CreateTable
CREATE TABLE "comparisons" (
    "id" UUID NOT NULL,
    "platform" "Platform" NOT NULL,
    "requester" JSONB NOT NULL,
    "runs" JSONB NOT NULL,
    "target" JSONB NOT NULL,
    "progress" JSONB NOT NULL,
    "lease_owner" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "comparisons_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "comparisons_platform_finished_at_idx" ON "comparisons"("platform", "finished_at");
