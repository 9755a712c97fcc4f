-- The dcli database, version 10: the tables the dcli reader tools open directly.
-- Names, columns and types must stay exactly as they are: the readers drop and recreate every
-- table when `version` holds anything but 10. Never edit this file; dclisync's own tables live in
-- migrations/.

CREATE TABLE IF NOT EXISTS "version" (
    "version" INTEGER NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS "member" (
    "member_id" INTEGER NOT NULL PRIMARY KEY,
    "platform_id" INTEGER NOT NULL,
    "display_name" TEXT,
    "bungie_display_name" TEXT,
    "bungie_display_name_code" TEXT
);

CREATE TABLE IF NOT EXISTS "sync" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT UNIQUE,
    "member" INTEGER NOT NULL UNIQUE,
    "last_sync" TEXT NOT NULL,
    FOREIGN KEY ("member") REFERENCES "member" ("member_id")
);

CREATE TABLE IF NOT EXISTS "character" (
    "character_id" INTEGER NOT NULL PRIMARY KEY,
    "member" INTEGER NOT NULL,
    "class" INTEGER NOT NULL,
    FOREIGN KEY ("member") REFERENCES "member" ("member_id") ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS "activity" (
    "activity_id" INTEGER NOT NULL PRIMARY KEY,
    "period" TEXT NOT NULL,
    "mode" INTEGER NOT NULL,
    "platform" INTEGER NOT NULL,
    "director_activity_hash" INTEGER NOT NULL,
    "reference_id" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS "modes" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT UNIQUE,
    "mode" INTEGER NOT NULL,
    "activity" INTEGER NOT NULL,
    UNIQUE ("mode", "activity"),
    FOREIGN KEY ("activity") REFERENCES "activity" ("activity_id") ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS "team_result" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT UNIQUE,
    "team_id" INTEGER NOT NULL,
    "activity" INTEGER NOT NULL,
    "score" INTEGER NOT NULL,
    "standing" INTEGER NOT NULL,
    UNIQUE ("team_id", "activity"),
    FOREIGN KEY ("activity") REFERENCES "activity" ("activity_id") ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS "activity_queue" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT UNIQUE,
    "synced" INTEGER NOT NULL DEFAULT 0,
    "activity_id" INTEGER NOT NULL,
    "character" INTEGER NOT NULL,
    UNIQUE ("activity_id", "character"),
    FOREIGN KEY ("character") REFERENCES "character" ("character_id") ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS "character_activity_stats" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT UNIQUE,
    "character" INTEGER NOT NULL,
    "activity" INTEGER NOT NULL,
    "assists" INTEGER NOT NULL,
    "score" INTEGER NOT NULL,
    "kills" INTEGER NOT NULL,
    "deaths" INTEGER NOT NULL,
    "average_score_per_kill" REAL NOT NULL,
    "average_score_per_life" REAL NOT NULL,
    "completed" INTEGER NOT NULL,
    "opponents_defeated" INTEGER NOT NULL,
    "activity_duration_seconds" INTEGER NOT NULL,
    "standing" INTEGER NOT NULL,
    "team" INTEGER NOT NULL,
    "completion_reason" INTEGER NOT NULL,
    "start_seconds" INTEGER NOT NULL,
    "time_played_seconds" INTEGER NOT NULL,
    "player_count" INTEGER NOT NULL,
    "team_score" INTEGER NOT NULL,
    "precision_kills" INTEGER NOT NULL,
    "weapon_kills_ability" INTEGER NOT NULL,
    "weapon_kills_grenade" INTEGER NOT NULL,
    "weapon_kills_melee" INTEGER NOT NULL,
    "weapon_kills_super" INTEGER NOT NULL,
    "all_medals_earned" INTEGER NOT NULL,
    "light_level" INTEGER NOT NULL,
    "emblem_hash" INTEGER NOT NULL,
    "fireteam_id" TEXT NOT NULL,
    UNIQUE ("activity", "character"),
    FOREIGN KEY ("activity") REFERENCES "activity" ("activity_id") ON DELETE CASCADE,
    FOREIGN KEY ("character") REFERENCES "character" ("character_id") ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS "weapon_result" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT UNIQUE,
    "reference_id" INTEGER NOT NULL,
    "kills" INTEGER NOT NULL,
    "precision_kills" INTEGER NOT NULL,
    "kills_precision_kills_ratio" REAL NOT NULL,
    "character_activity_stats" INTEGER NOT NULL,
    UNIQUE ("character_activity_stats", "reference_id"),
    FOREIGN KEY ("character_activity_stats") REFERENCES "character_activity_stats" ("id") ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS "medal_result" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT UNIQUE,
    "reference_id" INTEGER NOT NULL,
    "count" INTEGER NOT NULL,
    "character_activity_stats" INTEGER NOT NULL,
    UNIQUE ("character_activity_stats", "reference_id"),
    FOREIGN KEY ("character_activity_stats") REFERENCES "character_activity_stats" ("id") ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS "modes_activity_index" ON "modes" ("activity");
CREATE INDEX IF NOT EXISTS "character_activity_stats_char_index" ON "character_activity_stats" ("character");
CREATE INDEX IF NOT EXISTS "activity_period_index" ON "activity" ("period");
CREATE INDEX IF NOT EXISTS "character_activity_stats_activity_index" ON "character_activity_stats" ("activity");
CREATE INDEX IF NOT EXISTS "character_activity_stats_fireteam_index" ON "character_activity_stats" ("fireteam_id");

INSERT OR IGNORE INTO "version" ("version") VALUES (10);
