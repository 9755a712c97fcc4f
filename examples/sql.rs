//! Runs one SQL query against a dcli database and prints the rows as aligned columns, so the
//! demo needs no sqlite3 command-line tool: `cargo run --example sql -- DB_FILE "SELECT …"`.

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(db), Some(sql)) = (args.next(), args.next()) else {
        eprintln!("usage: sql DB_FILE \"SELECT …\"");
        std::process::exit(2);
    };
    match dclisync_testkit::demo::query(std::path::Path::new(&db), &sql) {
        Ok(table) => println!("{table}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
