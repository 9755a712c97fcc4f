//! A fake Bungie.net on 127.0.0.1 serving a generated world: the same generator and fake the
//! end-to-end tests use, runnable by hand to try dclisync without an API key.
//!
//! `cargo run --example fake_bungie -- --port 8787 --players 3 --seed 1` prints the root to put in
//! `DCLISYNC_API_ROOT`, the API key it accepts and its players' Bungie names, then serves until
//! stopped. `--info FILE` also writes those as `KEY=value` lines a shell script can source.

#[allow(dead_code)]
#[path = "../tests/common/world.rs"]
mod world;

#[allow(dead_code)]
#[path = "../tests/common/fake.rs"]
mod fake;

use clap::Parser;

/// The key the fake accepts: it is not a Bungie key and works nowhere else.
const DEMO_API_KEY: &str = "demo-key-not-a-bungie-key";

#[derive(Parser)]
#[command(about = "Serve a generated Destiny 2 world as a fake Bungie.net on 127.0.0.1")]
struct Args {
    /// Port on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Tracked players in the world
    #[arg(long, default_value_t = 3)]
    players: usize,
    /// Seed of the world: the same seed gives the same world
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the root, key, players and clan id to this file as KEY=value lines
    #[arg(long)]
    info: Option<std::path::PathBuf>,
}

fn main() {
    let args = Args::parse();
    let config = world::WorldConfig { seed: args.seed, players: args.players.max(1), ..world::WorldConfig::small() };
    let fake = fake::FakeBungie::start_on(world::World::generate(&config), DEMO_API_KEY, args.port);
    let players: Vec<String> = fake.world().players.iter().map(|p| p.bungie_name()).collect();
    let quoted: Vec<String> = players.iter().map(|p| format!("\"{p}\"")).collect();
    let info = format!(
        "DCLISYNC_API_ROOT={}\nDESTINY_API_KEY={DEMO_API_KEY}\nDEMO_PLAYERS=({})\nDEMO_GROUP={}\n",
        fake.uri(),
        quoted.join(" "),
        fake.world().clan.group_id
    );
    print!("{info}");
    eprintln!("fake Bungie serving {} players on {}; stop it with Ctrl-C", players.len(), fake.uri());
    if let Some(path) = &args.info {
        if let Err(e) = std::fs::write(path, &info) {
            eprintln!("error: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    loop {
        std::thread::park();
    }
}
