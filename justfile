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
# memory; prints a table of medians. `just bench --quick` runs each figure once; see `--help`.
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
demo:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --quiet --bin dclisync --example fake_bungie --example sql
    work=$(mktemp -d)
    target/debug/examples/fake_bungie --port 0 --info "$work/fake.env" > /dev/null &
    fake=$!
    trap 'kill $fake 2>/dev/null; rm -rf "$work"' EXIT
    for _ in $(seq 100); do [ -s "$work/fake.env" ] && break; sleep 0.1; done
    source "$work/fake.env"
    export DCLISYNC_API_ROOT DESTINY_API_KEY
    echo "== fake Bungie at $DCLISYNC_API_ROOT; data in $work/data"
    target/debug/dclisync -D "$work/data" --add "${DEMO_PLAYERS[@]}"
    target/debug/dclisync -D "$work/data" --sync
    echo "== dclisync --list"
    target/debug/dclisync -D "$work/data" --list
    echo "== win rate and K/D per player, public (mode 5) and private (mode 32) matches"
    target/debug/examples/sql "$work/data/dcli.sqlite3" "
      SELECT m.bungie_display_name || '#' || m.bungie_display_name_code AS player,
             CASE md.mode WHEN 5 THEN 'public' ELSE 'private' END AS matches_of,
             COUNT(*) AS matches, ROUND(AVG(s.standing = 0) * 100, 1) AS win_pct,
             ROUND(SUM(s.kills) * 1.0 / MAX(SUM(s.deaths), 1), 2) AS kd
        FROM character_activity_stats s
        JOIN modes md ON md.activity = s.activity AND md.mode IN (5, 32)
        JOIN character c ON c.character_id = s.character
        JOIN member m ON m.member_id = c.member
        JOIN sync ON sync.member = m.member_id
       GROUP BY player, md.mode ORDER BY player, md.mode"

# Resident memory of the daemon over 50 idle rounds against the fake Bungie (Linux)
bench-daemon *ARGS:
    cargo build --release --quiet --bin dclisync --example daemon_memory
    target/release/examples/daemon_memory {{ARGS}}
