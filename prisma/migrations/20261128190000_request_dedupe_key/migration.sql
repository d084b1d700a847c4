-- One request per platform gesture: a redelivered Slack event/command/view carries the same key.
-- AlterTable
ALTER TABLE "requests" ADD COLUMN "dedupe_key" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "requests_user_key_dedupe_key_key" ON "requests"("user_key", "dedupe_key");
