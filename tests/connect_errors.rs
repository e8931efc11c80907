//! Connect's error handling end to end, on a real broker with real files over real HTTP: a
//! sink whose converter or transform fails on some records sends each of them to the
//! dead-letter topic with Kafka's `__connect.errors.*` headers and keeps running under
//! `errors.tolerance=all`, and is FAILED with the cause in its status under `none`; bad
//! input through the REST API (an unknown class, a missing key, an unreadable file, an
//! unreachable broker, malformed JSON) gets a clear answer or task status. In every case the
//! worker keeps answering and a witness connector on it keeps moving data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "connect_errors/bad_input.rs"]
mod bad_input;
#[path = "connect_errors/rig.rs"]
mod rig;
#[path = "connect_errors/sink_dlq.rs"]
mod sink_dlq;
#[path = "connect_errors/transforms.rs"]
mod transforms;
