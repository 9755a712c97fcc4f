//! The `dclisync` binary: parse, validate, open, then drive the run loop of [`dclisync::core::daemon`]
//! (one round, or rounds until stopped) and carry out what it decides.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};

use dclisync::core::cli::{self, Args};
use dclisync::core::daemon::{self, Effect, Event, Line, Machine, Mode, Outcome};
use dclisync::core::error::{EXIT_FAILURE, EXIT_OK};
use dclisync::shell::clock::unix_now;
use dclisync::shell::metrics::{MetricsFile, Tally};
use dclisync::shell::output::{log_line, Output};
use dclisync::shell::signal::{self, Bell, Stop};
use dclisync::shell::store::Store;

/// How long the main thread waits for an exit that another thread has begun.
const EXIT_WAIT: Duration = Duration::from_secs(10);

fn main() {
    // First of all, so that a signal during start-up is handled like any other.
    let signals = signal::Listener::catch();
    dclisync::shell::memory::limit_allocator_arenas();
    let args = Args::parse();
    if args.man || args.completions.is_some() {
        print_generated(&args);
    }
    let default_data_dir = directories::BaseDirs::new().map(|b| b.data_local_dir().join("dcli"));
    let config = match cli::config(args, |k| std::env::var(k).ok(), default_data_dir) {
        Ok(config) => config,
        Err(e) => {
            Args::command().error(clap::error::ErrorKind::MissingRequiredArgument, e.0).exit();
        }
    };
    // Log lines (-v) would tear through the bars, so verbose runs go without them.
    let out = if config.daemon { Output::daemon() } else { Output::new(!config.verbose) };
    init_logger(config.verbose, out.stamps_stderr());
    let config = with_rules(config, &out);

    let mode = if config.daemon { Mode::Daemon { interval: config.interval } } else { Mode::Once };
    let shell = Shell {
        machine: Arc::new(Mutex::new(Machine::new(mode))),
        stop: Stop::new(),
        bell: Bell::new(),
        out,
        tally: Arc::default(),
    };
    let listener = shell.clone();
    let listening = signals.and_then(|signals| {
        signals.listen(move |event| {
            for effect in listener.feed(event) {
                // Rounds and sleeps only ever follow the main thread's own events.
                if let Some(effect) = listener.apply(effect) {
                    log::debug!("signal thread: ignored {effect:?}");
                }
            }
        })
    });
    if let Err(e) = listening {
        log::warn!("cannot catch signals ({e}); stopping may interrupt a report download");
    }

    // A list alone only reads: no write access needed, no -wal or -shm left behind.
    let only_reads = config.list && !config.needs_key() && config.remove.is_empty() && config.remove_group.is_empty();
    let opened = if only_reads { Store::open_read_only(&config.data_dir) } else { Store::open(&config.data_dir) };
    let mut store = match opened {
        Ok(store) => store,
        Err(e) => {
            shell.out.say(&format!("error: {e}"));
            signal::exit(EXIT_FAILURE);
        }
    };
    log::debug!("database: {}", store.path().display());
    shell.drive(&config, &mut store)
}

/// Prints the man page or the completion script `args` asks for, from the clap definitions, and
/// exits 0 (a closed pipe included).
fn print_generated(args: &Args) -> ! {
    let mut command = Args::command();
    let mut stdout = std::io::stdout().lock();
    let written = match args.completions {
        Some(shell) => {
            clap_complete::generate(shell, &mut command, "dclisync", &mut stdout);
            Ok(())
        }
        None => clap_mangen::Man::new(command).render(&mut stdout),
    };
    let code = match written.and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot print: {e}");
            EXIT_FAILURE
        }
        _ => 0,
    };
    std::process::exit(code)
}

/// Reads the user's fix-up rules into `config`, before the database is opened: a bad file ends
/// the run with exit 2 and nothing written. `--fixups-check` prints the rules and exits here.
fn with_rules(config: cli::Config, out: &Output) -> cli::Config {
    match dclisync::shell::fixups::load(&config) {
        Ok((rules, _)) if !config.fixups_check => cli::Config { rules, ..config },
        Ok((rules, file)) => {
            for line in rules.check_lines(file.as_deref()) {
                out.result(&line);
            }
            signal::exit(EXIT_OK)
        }
        Err(e) => {
            out.say(&format!("error: {e}"));
            signal::exit(e.exit_code())
        }
    }
}

fn init_logger(verbose: bool, stamped: bool) {
    let level = if verbose { "warn,dclisync=debug" } else { "warn" };
    let mut logger = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level));
    // The HTTP client's `trace` is the wire, headers and the API key included: it logs no more
    // than its warnings, whatever RUST_LOG asks (dclisync's own `-v` lines name each request).
    for module in ["ureq", "ureq_proto"] {
        logger.filter_module(module, log::LevelFilter::Warn);
    }
    // The daemon's stamp when stamped, so a log file reads in one style; escaped like any line.
    logger.format(move |buf, record| log_line(buf, stamped, record.level(), record.args()));
    logger.init();
}

/// What the main thread and the signal thread share: the run loop's state and the handles its
/// effects act on.
#[derive(Clone)]
struct Shell {
    machine: Arc<Mutex<Machine>>,
    stop: Stop,
    bell: Bell,
    out: Output,
    /// Requests by endpoint and outcome since the start, for the metrics file.
    tally: Arc<Tally>,
}

impl Shell {
    fn feed(&self, event: Event) -> Vec<Effect> {
        self.machine.lock().unwrap_or_else(|e| e.into_inner()).handle(event)
    }

    /// Carries out an effect any thread can; hands back the ones only the main thread can
    /// (running a round, sleeping between rounds).
    fn apply(&self, effect: Effect) -> Option<Effect> {
        match effect {
            Effect::Say(Line::Out(line)) => self.out.result(&line),
            Effect::Say(Line::Err(line)) => self.out.say(&line),
            Effect::EndSleep => self.bell.ring(),
            Effect::WindDown { signal, grace } => {
                self.stop.request(signal);
                // Workers stuck in slow requests must not hold the exit: quit after the grace
                // period even if the round has not come back. Each report is one transaction,
                // so whatever is cut off is simply not saved, never half-saved.
                let out = self.out.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(grace);
                    out.say("the requests in progress did not finish in time; quitting now (everything saved so far stays saved)");
                    signal::exit(daemon::exit_code_for(signal));
                });
            }
            Effect::Exit(code) => signal::exit(code),
            main_only @ (Effect::RunRound { .. } | Effect::Sleep(_)) => return Some(main_only),
        }
        None
    }

    /// The main thread's loop: runs the rounds and sleeps the machine asks for, until it exits.
    fn drive(&self, config: &cli::Config, store: &mut Store) -> ! {
        let mut effects = self.feed(Event::Start);
        let mut metrics = config.metrics_file.clone().map(MetricsFile::new);
        loop {
            let mut next = None;
            for effect in effects {
                match self.apply(effect) {
                    Some(Effect::RunRound { number, quiet }) => {
                        self.out.set_quiet(quiet);
                        next = Some(self.run_round(&round_config(config, number), store, metrics.as_mut()));
                    }
                    Some(Effect::Sleep(duration)) => {
                        self.bell.sleep(duration);
                        next = Some(Event::SleepOver);
                    }
                    _ => {}
                }
            }
            match next {
                Some(event) => effects = self.feed(event),
                None => {
                    // The signal thread is exiting the process; returning from main would exit 0.
                    std::thread::sleep(EXIT_WAIT);
                    signal::exit(EXIT_FAILURE);
                }
            }
        }
    }

    /// Runs one round and writes the metrics file, if asked for; returns how the round ended.
    fn run_round(&self, config: &cli::Config, store: &mut Store, metrics: Option<&mut MetricsFile>) -> Event {
        let started = Instant::now();
        let outcome = match dclisync::shell::actions::run(config, store, &self.out, &self.stop, &self.tally) {
            Ok(totals) => Outcome::Done(totals),
            Err(e) => Outcome::of_error(e.kind(), e.to_string()),
        };
        let elapsed = started.elapsed();
        if let Some(metrics) = metrics {
            if let Err(message) = metrics.round_ended(&outcome, elapsed, unix_now(), &self.tally) {
                self.out.say(&format!("error: {message}"));
            }
        }
        Event::RoundEnded { outcome, elapsed }
    }
}

/// The configuration of round `number`: import, add, remove (players and clans) and list happen
/// in the first round only; later rounds only sync.
fn round_config(config: &cli::Config, number: u64) -> cli::Config {
    if number <= 1 {
        return config.clone();
    }
    cli::Config {
        import_group: None,
        add: Vec::new(),
        remove: Vec::new(),
        remove_group: Vec::new(),
        list: false,
        ..config.clone()
    }
}
