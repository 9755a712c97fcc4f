//! The demo: a fake Bungie.net serving a generated world, and a real dclisync binary that adds
//! its players, syncs them into a temporary data folder, lists them, and the win rate and K/D of
//! each, read from the database with SQL. `cargo run --release --example demo` runs it (the
//! example finds the binary), and an end-to-end test runs it against the binary under test.
//!
//! Nothing here needs a Bungie key, the internet, `just` or the sqlite3 tool.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::{clean_env, db_path, FakeBungie, World, WorldConfig};

/// The key the demo's fake accepts: plainly not a Bungie key.
pub const DEMO_API_KEY: &str = "demo-key-not-a-bungie-key";

/// Each player's win rate and K/D in public (mode 5) and private (mode 32) matches: the query
/// the README shows, per player.
pub const WIN_RATE_SQL: &str = "
SELECT m.bungie_display_name || '#' || m.bungie_display_name_code AS player,
       CASE md.mode WHEN 5 THEN 'public' ELSE 'private' END AS matches_of,
       COUNT(*) AS matches, ROUND(AVG(s.standing = 0) * 100, 1) AS win_pct,
       ROUND(SUM(s.kills) * 1.0 / MAX(SUM(s.deaths), 1), 2) AS kd
  FROM character_activity_stats s
  JOIN modes md ON md.activity = s.activity AND md.mode IN (5, 32)
  JOIN character c ON c.character_id = s.character
  JOIN member m ON m.member_id = c.member
  JOIN sync ON sync.member = m.member_id
 GROUP BY player, md.mode ORDER BY player, md.mode";

/// Runs the demo with the dclisync binary at `dclisync`, writing what it shows to `out`.
pub fn run(dclisync: &Path, out: &mut impl Write) -> Result<(), String> {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), DEMO_API_KEY);
    let work = std::env::temp_dir().join(format!("dclisync-demo-{}", std::process::id()));
    let data = work.join("data");
    let result = run_in(dclisync, &fake, &data, out);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn run_in(dclisync: &Path, fake: &FakeBungie, data: &Path, out: &mut impl Write) -> Result<(), String> {
    let say = |out: &mut dyn Write, text: &str| writeln!(out, "{text}").map_err(|e| e.to_string());
    say(out, &format!("== fake Bungie at {}; data in {}", fake.uri(), data.display()))?;
    let players: Vec<String> = fake.world().players.iter().map(|p| p.bungie_name()).collect();
    let run = |args: &[&str]| -> Result<String, String> {
        let mut cmd = Command::new(dclisync);
        clean_env(&mut cmd)
            .env("DCLISYNC_API_ROOT", fake.uri())
            .env("DESTINY_API_KEY", DEMO_API_KEY)
            .env("DCLISYNC_MAX_RPS", "0")
            .arg("-D")
            .arg(data)
            .args(args);
        let done = cmd.output().map_err(|e| format!("cannot run {}: {e}", dclisync.display()))?;
        let text = format!("{}{}", String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr));
        if !done.status.success() {
            return Err(format!("dclisync {} failed ({}):\n{text}", args.join(" "), done.status));
        }
        Ok(text)
    };
    let mut add = vec!["--add"];
    add.extend(players.iter().map(String::as_str));
    say(out, run(&add)?.trim_end())?;
    say(out, run(&["--sync"])?.trim_end())?;
    say(out, "== dclisync --list")?;
    say(out, run(&["--list"])?.trim_end())?;
    say(out, "== win rate and K/D per player, public (mode 5) and private (mode 32) matches")?;
    say(out, &query(&db_path(data), WIN_RATE_SQL).map_err(|e| format!("the win-rate query failed: {e}"))?)
}

/// The rows of `sql` as aligned columns, with a header line.
pub fn query(db: &Path, sql: &str) -> rusqlite::Result<String> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = conn.prepare(sql)?;
    let names: Vec<String> = stmt.column_names().iter().map(|n| n.to_string()).collect();
    let mut table = vec![names.clone()];
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            cells.push(match row.get_ref(i)? {
                ValueRef::Null => "NULL".to_string(),
                ValueRef::Integer(n) => n.to_string(),
                ValueRef::Real(f) => format!("{f:.2}"),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
            });
        }
        table.push(cells);
    }
    let widths: Vec<usize> =
        (0..names.len()).map(|i| table.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let lines: Vec<String> = table
        .iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect();
    Ok(lines.join("\n"))
}
