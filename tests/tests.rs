//! The one integration test binary: shared fixture under `common/`, end-to-end tests of the
//! dclisync binary under `e2e/`.

mod architecture;
mod common;
mod e2e;
