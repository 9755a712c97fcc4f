//! The one integration test binary: shared helpers under `common/` (over the test kit in `kit/`),
//! self-checks of the kit under `kit_checks/`, end-to-end tests of the dclisync binary under
//! `e2e/`.

mod architecture;
mod common;
mod e2e;
mod kit_checks;
