//! End-to-end tests: the real binary against the fake Bungie, asserting on exit codes, output
//! and the database it leaves on disk. Messages are matched case-insensitively on key words only.

mod archive;
mod at_pace;
mod daemon;
mod faults;
mod fixups;
mod hostile;
mod idle_and_deleted;
mod late_reports;
mod list;
mod metrics;
mod moving_world;
mod network;
mod players_by_id;
mod refusals;
mod rescan;
mod roster_gate;
mod shell_integration;
mod stored_rows;
mod sync;
mod sync_list;
mod throttle;
mod windows;
