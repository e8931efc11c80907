//! The Kafka wire protocol glue: size-prefixed frames in, decoded requests to the handlers,
//! encoded responses out. No I/O policy lives here beyond reading one frame.
//!
//! A frame is a big-endian `i32` length followed by that many bytes: a request header
//! (API key, version, correlation id, client id, tagged fields from the flexible versions)
//! and the request body. The `kafka-protocol` crate does the codec for every version.

pub mod frame;
pub mod request;
pub mod versions;

pub use frame::{read_frame, FrameError};
pub use request::{decode, encode_response, Decoded, ProtocolError, Request};
