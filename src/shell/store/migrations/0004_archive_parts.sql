-- dclisync's own tables (user_version 4): digests of a report's rows table group by table group.

-- Beside `digest` (all the rows last derived from the copy), `parts` holds one digest per group
-- of tables those rows fill: activity, modes, team results, members and characters, and stats
-- with their weapons and medals (src/core/reparse.rs), so --reparse writes again only the groups
-- a rule changed. NULL: not known (a copy kept by an earlier release): every group is written.
ALTER TABLE "dclisync_archive" ADD COLUMN "parts" TEXT;
