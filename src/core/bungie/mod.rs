//! What Bungie.net answers: the envelope every response comes in, and the typed model of the
//! responses dclisync reads.

pub mod envelope;
#[cfg(test)]
mod fuzz;
pub mod limits;
pub mod model;
