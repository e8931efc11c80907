//! Any frame a client can send: decoding its header and body as the broker would returns a
//! request or an error, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fjord_broker::handlers::decode_request(bytes::Bytes::copy_from_slice(data));
});
