-- dclisync's own tables (user_version 2): late reports and daily rescans.

-- When each report dclisync stored was fetched (Unix seconds). A report fetched within 15
-- minutes of its match's end may be incomplete: `recheck_at` says when to fetch it once more
-- (NULL: nothing left to do), and `digest` and `characters` what the stored copy holds, so the
-- second copy replaces it only if it differs and lost nobody.
CREATE TABLE IF NOT EXISTS "dclisync_report" (
    "activity_id" INTEGER NOT NULL PRIMARY KEY,
    "fetched_at" INTEGER NOT NULL,
    "recheck_at" INTEGER,
    "digest" TEXT,
    "characters" INTEGER
);
CREATE INDEX IF NOT EXISTS "dclisync_report_recheck_index" ON "dclisync_report" ("recheck_at")
    WHERE "recheck_at" IS NOT NULL;

-- When the player's whole history was last walked (Unix seconds): by --rescan, by the daemon's
-- daily rescan, or (as the start of the daily schedule) by their first sync with dclisync.
ALTER TABLE "dclisync_player" ADD COLUMN "rescanned_at" INTEGER;
