-- A chat platform may deliver one /compare gesture to two bot processes (Slack retries a slow
-- acknowledgement, and the retry can reach another process): the gesture's key is stored with the
-- comparison it started, once per platform, so the second process finds it taken and posts nothing.
-- AlterTable
ALTER TABLE "comparisons" ADD COLUMN "gesture" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "comparisons_platform_gesture_key" ON "comparisons"("platform", "gesture");
