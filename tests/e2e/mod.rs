//! End-to-end tests: the real binary against the fake Bungie, asserting on exit codes, output
//! and the database it leaves on disk. Messages are matched case-insensitively on key words only.

mod daemon;
mod refusals;
mod sync;
mod sync_list;
