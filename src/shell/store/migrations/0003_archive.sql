-- dclisync's own tables (user_version 3): the archive of match reports.

-- Each downloaded report's `Response` as Bungie sent it, compressed (src/core/archive.rs: a
-- format byte, then the data), so rows can be derived again without Bungie (--reparse). The dcli
-- readers never look here. To drop the archive and save the space:
--   DELETE FROM dclisync_archive; VACUUM;
-- `digest` is that of the rows last derived from the copy, before DCLI_FIX_DATA's repairs
-- (src/core/refresh.rs), so --reparse rewrites only reports whose rows the rules now change;
-- NULL: not known (a copy fetched by --archive-missing for rows stored earlier).
CREATE TABLE IF NOT EXISTS "dclisync_archive" (
    "activity_id" INTEGER NOT NULL PRIMARY KEY,
    "body" BLOB NOT NULL,
    "digest" TEXT
);

-- --reparse deletes a report's activity row, and the dcli schema cascades to team_result, which
-- has no index on its activity: without this one each delete would read the whole table.
CREATE INDEX IF NOT EXISTS "dclisync_team_result_activity_index" ON "team_result" ("activity");
