//! Try dclisync without a Bungie key, with nothing but cargo:
//! `cargo run --release --example demo` starts a fake Bungie.net on 127.0.0.1, adds its
//! players, syncs them into a temporary folder, prints `--list` and each player's win rate and
//! K/D, and stops the fake.
//!
//! cargo builds only the example for `cargo run --example demo`, so the demo builds the
//! dclisync binary itself, with the cargo that runs it (`CARGO`) and the same profile, into the
//! same target folder (`CARGO_TARGET_DIR` included): the binary sits beside this example's
//! `examples/` folder. `DCLISYNC_BIN` names another binary to use instead.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let result = dclisync_binary().and_then(|bin| dclisync_testkit::demo::run(&bin, &mut std::io::stdout()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The dclisync binary of this build: `DCLISYNC_BIN`, or `dclisync` in the profile folder above
/// this example's, built first when cargo runs the demo.
fn dclisync_binary() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("DCLISYNC_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let me = std::env::current_exe().map_err(|e| format!("cannot find the demo's own path: {e}"))?;
    let profile_dir = me
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in a cargo target folder", me.display()))?;
    let bin = profile_dir.join(format!("dclisync{}", std::env::consts::EXE_SUFFIX));
    if let Some(cargo) = std::env::var_os("CARGO") {
        build(&cargo, profile_dir)?;
    }
    if !bin.exists() {
        return Err(format!(
            "{} is missing: run the demo with `cargo run --release --example demo`, or build it first with \
             `cargo build --release --bin dclisync`",
            bin.display()
        ));
    }
    Ok(bin)
}

/// `cargo build --bin dclisync` in the profile this example was built with.
fn build(cargo: &std::ffi::OsStr, profile_dir: &Path) -> Result<(), String> {
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--bin", "dclisync"]);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("release") => {
            cmd.arg("--release");
        }
        Some("debug") | None => {}
        Some(other) => {
            cmd.args(["--profile", other]);
        }
    }
    if let Some(manifest_dir) = option_env!("CARGO_MANIFEST_DIR") {
        cmd.current_dir(manifest_dir);
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo to build dclisync: {e}"))?;
    if !status.success() {
        return Err(format!("building dclisync failed ({status})"));
    }
    Ok(())
}
