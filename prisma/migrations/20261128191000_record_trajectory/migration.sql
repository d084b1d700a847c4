-- Animation replays: the worker records the predicted-x0 trajectory and stores it as the request's GIF.
-- AlterTable
ALTER TABLE "requests" ADD COLUMN "record_trajectory" BOOLEAN NOT NULL DEFAULT false;
