//! The core: everything that decides. Pure functions and plain data, with no network, disk,
//! clock, threads or environment: what Bungie answered becomes typed values, a match report
//! becomes database rows, stored state and listed histories become sync plans, failures become
//! retry and round decisions. The shell gathers the inputs (including the current time) and
//! carries out what these modules return.

pub mod access;
pub mod archive;
pub mod batch;
pub mod bungie;
pub mod cli;
pub mod daemon;
pub mod download;
pub mod error;
pub mod fixups;
pub mod ids;
pub mod limiter;
pub mod listing;
pub mod metrics;
pub mod name;
pub mod pgcr;
pub mod plan;
pub mod player;
pub mod refresh;
pub mod reparse;
pub mod rescan;
pub mod retry;
pub mod roster;
pub mod summary;
pub mod terminal;
pub mod time;
pub mod walk;
