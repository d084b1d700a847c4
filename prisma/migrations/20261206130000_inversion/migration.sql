-- Inversion (DDIM section 5.4) goes through the queue like the other edits: an image -> x_T -> decoded back.
-- What a run measured (an inversion's reconstruction PSNR) is stored beside its images in `result`.
-- AlterEnum
ALTER TYPE "RequestKind" ADD VALUE 'invert';

-- AlterTable
ALTER TABLE "requests" ADD COLUMN "result" JSONB;
