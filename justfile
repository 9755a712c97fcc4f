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

# Review changed insta snapshots
review:
    cargo insta review
