-- Sampler options live only in "options" (issue 16): an option of a plugin is data, not a column. The
-- "eta" column duplicated an option of DDIM. Where it was set but "options" lacks it (older requests, or
-- ones written by hand), the value moves into "options" before the column goes. Where both are set,
-- "options" already holds what the sampler ran with and wins.
-- (No semicolons in these comments: the migration engine splits the script at every one.)
UPDATE "requests"
SET "options" = jsonb_build_object('eta', "eta") || "options"
WHERE "eta" IS NOT NULL AND "options" -> 'eta' IS NULL;

-- AlterTable
ALTER TABLE "requests" DROP COLUMN "eta";
