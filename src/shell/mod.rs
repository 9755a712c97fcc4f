//! The shell: everything that acts. HTTP to Bungie.net, the sqlite store, the sync lock, worker
//! threads, signals and the terminal. Each function here observes (reads the store, asks
//! Bungie), hands what it saw to a pure function of [`crate::core`], and carries out the answer.

pub mod actions;
pub mod bungie;
pub mod clock;
pub mod error;
pub mod fixups;
pub mod lock;
pub mod memory;
pub mod metrics;
pub mod output;
pub mod places;
pub mod reparse;
pub mod signal;
pub mod store;
pub mod sync;
