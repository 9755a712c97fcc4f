-- dclisync's own tables (user_version 5): remembered clans and the roster gate.

-- Clans imported with --import-group, read every round: their rosters say which members could
-- have played since their last walk (src/core/roster.rs). `roster_read_at` is when the last
-- complete roster was read (Unix seconds), `listed` how many members it listed.
CREATE TABLE IF NOT EXISTS "dclisync_group" (
    "group_id" INTEGER NOT NULL PRIMARY KEY,
    "imported_at" INTEGER NOT NULL,
    "roster_read_at" INTEGER,
    "listed" INTEGER
);

-- The members of each remembered clan as its last complete roster listed them (tracked or not):
-- a clan whose roster fails has all of these read, and --follow-groups tells joins and leaves.
CREATE TABLE IF NOT EXISTS "dclisync_group_member" (
    "group_id" INTEGER NOT NULL,
    "member_id" INTEGER NOT NULL,
    PRIMARY KEY ("group_id", "member_id")
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS "dclisync_group_member_member_index" ON "dclisync_group_member" ("member_id");

-- When the player's last complete walk started, and when their profile was last read (Unix
-- seconds): the roster gate skips a player whose status has not changed since that walk, for
-- at most --max-staleness after that read.
ALTER TABLE "dclisync_player" ADD COLUMN "walked_at" INTEGER;
ALTER TABLE "dclisync_player" ADD COLUMN "profile_read_at" INTEGER;

-- The gate's figures of the last round that synced the whole list, for --list.
CREATE TABLE IF NOT EXISTS "dclisync_gate_round" (
    "id" INTEGER NOT NULL PRIMARY KEY CHECK ("id" = 1),
    "at" INTEGER NOT NULL,
    "read" INTEGER NOT NULL,
    "stale" INTEGER NOT NULL,
    "skipped" INTEGER NOT NULL,
    "rosters_failed" INTEGER NOT NULL
);

-- The gate asks which players have activities still queued once a round: only unsynced rows
-- are indexed, so the question costs what is queued, not the whole history.
CREATE INDEX IF NOT EXISTS "dclisync_queue_unsynced_index" ON "activity_queue" ("character")
    WHERE "synced" = 0;

-- Rounds over thousands of players look up each player's characters and each character's
-- queued activities; without these indexes every such lookup read the whole table, so a round
-- grew with the square of the players. (Indexes only: the dcli tables keep their columns.)
CREATE INDEX IF NOT EXISTS "dclisync_character_member_index" ON "character" ("member");
CREATE INDEX IF NOT EXISTS "dclisync_queue_character_index" ON "activity_queue" ("character");
CREATE INDEX IF NOT EXISTS "dclisync_own_character_member_index" ON "dclisync_character" ("member_id");
