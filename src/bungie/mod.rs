//! Everything about talking to Bungie.net: the response models and the envelope rules (core),
//! and the HTTP client that sends requests (shell).

pub mod client;
pub mod envelope;
pub mod model;
