//! Runs one SQL query against a dcli database and prints the rows as aligned columns, so the
//! demo needs no sqlite3 command-line tool: `cargo run --example sql -- DB_FILE "SELECT …"`.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(db), Some(sql)) = (args.next(), args.next()) else {
        eprintln!("usage: sql DB_FILE \"SELECT …\"");
        std::process::exit(2);
    };
    if let Err(e) = run(&db, &sql) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(db: &str, sql: &str) -> rusqlite::Result<()> {
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
    for row in &table {
        let line: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", line.join("  ").trim_end());
    }
    Ok(())
}
