//! Keeping the process small: how the allocator is set up before anything else runs.
//!
//! glibc gives each thread that allocates concurrently an arena of its own (up to 8 per core)
//! and keeps what an arena once held. With a pool of download threads, each parsing reports of
//! tens of kilobytes, those arenas added about 17 MB to the peak RSS of a first sync (measured
//! with `just bench`: 40 MB with the default arenas, 23 MB with two, at the same speed). Two
//! arenas keep the peak flat and low; the download threads spend their time waiting on the
//! network, not on the allocator's lock.

/// Arenas glibc may create: the main one and one shared by every other thread.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MALLOC_ARENAS: libc::c_int = 2;

/// Caps glibc's malloc arenas; elsewhere the allocator is left as it is. Call it first in
/// `main`, before threads start. `MALLOC_ARENA_MAX` in the environment still wins.
pub fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tuning parameter; no thread allocates concurrently yet.
        // Its result is ignored: failing to set it only costs memory.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
        }
    }
}
