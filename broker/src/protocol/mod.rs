//! The Kafka wire protocol glue: size-prefixed frames in, request headers and bodies decoded,
//! encoded responses out. No I/O policy lives here beyond reading one frame, and no broker
//! state: which APIs and versions are served is the caller's table (`handlers::ROUTES`), so
//! this layer can be fuzzed and property-tested on its own.
//!
//! A frame is a big-endian `i32` length followed by that many bytes: a request header
//! (API key, version, correlation id, client id, tagged fields from the flexible versions)
//! and the request body. The `kafka-protocol` crate does the codec for every version.

pub mod frame;
pub mod request;

pub use frame::{read_frame, FrameError};
pub use request::{
    decode_body, decode_header, encode_response, Framed, ProtocolError, RequestPrefix,
};
