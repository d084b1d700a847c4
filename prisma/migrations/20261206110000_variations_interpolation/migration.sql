-- Variations (SDEdit of a stored or uploaded image) and seed/label interpolation go through the queue like
-- generations. Their own parameters (strength and source, or frames and the far end) live in one JSON column.
-- AlterEnum
ALTER TYPE "RequestKind" ADD VALUE 'vary';
ALTER TYPE "RequestKind" ADD VALUE 'interpolate';

-- AlterTable
ALTER TABLE "requests" ADD COLUMN "edit" JSONB;
