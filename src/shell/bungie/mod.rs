//! Talking to Bungie.net: the HTTP client and the gate every request passes (pace and
//! requests in flight).

pub mod client;
pub mod gate;
