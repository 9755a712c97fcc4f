# dclisync tasks. `just ci` runs exactly what CI runs.

# Build and run the tool, e.g. `just run --list`
run *ARGS:
    cargo run --release -- {{ARGS}}

# All tests: unit, snapshot, property and end-to-end against the local fake Bungie
test:
    cargo test

# Formatting and lints, warnings as errors
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# What CI runs
ci: lint test

# Benchmarks, release build: ingest speed, first and idle syncs against the fake Bungie, peak
# memory, clans of 300 to 10,000 players (`--only players`); prints a table of medians.
# `just bench --quick` runs each figure once; see `--help`.
bench *ARGS:
    cargo build --release --quiet --bin dclisync --example bench
    target/release/examples/bench {{ARGS}}

# The networking benchmarks only: first syncs under Bungie's limit, without it, with 5 % faults,
# and an idle round
bench-net *ARGS:
    cargo build --release --quiet --bin dclisync --example bench
    target/release/examples/bench --only net {{ARGS}}

# Review changed insta snapshots
review:
    cargo insta review

# Try dclisync without a Bungie key: sync the players of a local fake Bungie into a temp folder
# (a shortcut for `cargo run --release --example demo`, which needs nothing but cargo)
demo:
    cargo run --release --quiet --example demo

# Resident memory of the daemon over 50 idle rounds against the fake Bungie (Linux)
bench-daemon *ARGS:
    cargo build --release --quiet --bin dclisync --example daemon_memory
    target/release/examples/daemon_memory {{ARGS}}

# Mutation testing of the core (cargo-mutants; not part of CI). All ~1,200 mutants take many
# hours on 2 cores; a round-robin shard is a fair sample, e.g. `just mutants --shard 0/12`.
# Results land in mutants.out/.
mutants *ARGS:
    cargo install cargo-mutants --locked --quiet
    cargo mutants --sharding round-robin {{ARGS}}

# Train the archive's zstd dictionary again from generated and hand-written reports (same samples,
# same dictionary); `--measure` compares sizes and levels, `--held-out` guides real reports
train-dictionary *ARGS:
    cargo run --release --quiet --example train_dictionary -- {{ARGS}}

# cargo install --path ., with --version naming this checkout's commit
install:
    DCLISYNC_COMMIT="$(git rev-parse HEAD)" cargo install --locked --path .

# Before a release: actionlint on the workflows, cargo publish --dry-run, dist plan, and this
# machine's release archive and installers built by cargo-dist, its binary run (.ci/release-check)
release-check:
    .ci/release-check
