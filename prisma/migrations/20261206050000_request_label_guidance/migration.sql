-- Class-conditional models: the class asked for and the classifier-free guidance scale (both null without a label).
-- AlterTable
ALTER TABLE "requests" ADD COLUMN "label" TEXT,
ADD COLUMN "guidance" DOUBLE PRECISION;
