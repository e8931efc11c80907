//! Any frame a client can send: decoding returns a request or an error, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fjord_broker::protocol::decode(bytes::Bytes::copy_from_slice(data));
});
