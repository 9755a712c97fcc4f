//! Everything about talking to Bungie.net: the response models and the envelope rules (core),
//! and the HTTP client that sends requests through the shared gate (shell).

pub mod client;
pub mod envelope;
pub mod gate;
pub mod model;
