-- dclisync's own tables (user_version 1). The dcli readers never look at dclisync_* tables.

-- Players dclisync has synced at least once, and when the last complete sync ended.
CREATE TABLE IF NOT EXISTS "dclisync_player" (
    "member_id" INTEGER NOT NULL PRIMARY KEY,
    "last_success" TEXT
);

-- Download attempts of queued activities whose PGCR failed, with the last error.
CREATE TABLE IF NOT EXISTS "dclisync_attempt" (
    "activity_id" INTEGER NOT NULL PRIMARY KEY,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT NOT NULL DEFAULT '',
    "last_attempt" TEXT NOT NULL DEFAULT ''
);
