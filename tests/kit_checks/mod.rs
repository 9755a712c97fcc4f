//! Self-checks of the test kit (`tests/kit/`, crate `dclisync-testkit`), without dclisync: the
//! generated world keeps its promises and the fake Bungie answers as Bungie does. They run here,
//! in the one integration test binary, so a plain `cargo test` at the root still runs them.

mod fake;
mod oracle;
mod world;
