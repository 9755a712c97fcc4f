//! The `dclisync` binary: parse, validate, open, run, and map the result to an exit code.

use clap::Parser;

use dclisync::bungie::envelope::ApiError;
use dclisync::cli::{self, Args};
use dclisync::error::{Error, EXIT_OK};
use dclisync::output::Output;
use dclisync::signal::Stop;
use dclisync::store::Store;

fn main() {
    dclisync::memory::limit_allocator_arenas();
    let args = Args::parse();
    let default_data_dir = directories::BaseDirs::new().map(|b| b.data_local_dir().join("dcli"));
    let config = match cli::config(args, |k| std::env::var(k).ok(), default_data_dir) {
        Ok(config) => config,
        Err(e) => {
            use clap::CommandFactory;
            Args::command().error(clap::error::ErrorKind::MissingRequiredArgument, e.0).exit();
        }
    };
    let level = if config.verbose { "warn,dclisync=debug" } else { "warn" };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_target(false)
        .format_timestamp(None)
        .init();

    let code = match run(&config) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}

fn run(config: &cli::Config) -> Result<(), Error> {
    let stop = Stop::new();
    if let Err(e) = stop.install() {
        log::warn!("cannot catch Ctrl-C ({e}); stopping may interrupt a report download");
    }
    // Log lines (-v) would tear through the bars, so verbose runs go without them.
    let out = Output::new(!config.daemon && !config.verbose);
    let mut store = Store::open(&config.data_dir)?;
    log::debug!("database: {}", store.path().display());
    if config.daemon {
        return daemon(config, &mut store, &out, &stop);
    }
    dclisync::actions::run(config, &mut store, &out, &stop)
}

/// Syncs, sleeps for the interval, and repeats until stopped.
fn daemon(config: &cli::Config, store: &mut Store, out: &Output, stop: &Stop) -> Result<(), Error> {
    let mut round = config.clone();
    loop {
        let outcome = dclisync::actions::run(&round, store, out, stop);
        // Import, add, remove and list happen once; later rounds only sync.
        round = cli::Config { import_group: None, add: Vec::new(), remove: Vec::new(), list: false, ..round };
        match outcome {
            // Retrying cannot fix a bad key or an unusable database.
            Err(e @ (Error::Interrupted(_) | Error::Api(ApiError::BadKey(_)) | Error::Store(_))) => return Err(e),
            Err(e) => out.status(&format!("round failed: {e}; trying again in {} s", config.interval.as_secs())),
            Ok(()) => {}
        }
        stop.sleep(config.interval);
        stop.check()?;
    }
}
