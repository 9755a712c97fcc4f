-- dclisync's own tables (user_version 1). The dcli readers never look at dclisync_* tables.

-- Players dclisync has synced: when the last complete sync ended, and when the account's
-- character list (deleted characters included) was last read, in Unix seconds.
CREATE TABLE IF NOT EXISTS "dclisync_player" (
    "member_id" INTEGER NOT NULL PRIMARY KEY,
    "last_success" TEXT,
    "account_checked_at" INTEGER
);

-- Characters dclisync walks: whether Bungie lists them as deleted, and the history marker (the
-- profile's dateLastPlayed when their history was last walked to the end; "deleted" for a deleted
-- character walked once), which lets an idle character skip its history requests.
CREATE TABLE IF NOT EXISTS "dclisync_character" (
    "character_id" INTEGER NOT NULL PRIMARY KEY,
    "member_id" INTEGER NOT NULL,
    "deleted" INTEGER NOT NULL DEFAULT 0,
    "history_marker" TEXT
);

-- Download attempts of queued activities whose PGCR failed, with the last error.
CREATE TABLE IF NOT EXISTS "dclisync_attempt" (
    "activity_id" INTEGER NOT NULL PRIMARY KEY,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT NOT NULL DEFAULT '',
    "last_attempt" TEXT NOT NULL DEFAULT ''
);
