//! Untrusted bytes as Kafka Connect's group protocol payloads (a member's JoinGroup metadata,
//! a SyncGroup assignment): any input decodes or fails, never panics, and what decodes
//! encodes again. `cargo fuzz run connect_group_protocol`.
#![no_main]

use fjord_connect::group::protocol;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = protocol::decode_assignment(data) {
        let _ = protocol::encode_assignment(&a);
    }
    if let Ok(m) = protocol::decode_metadata(data) {
        let _ = protocol::encode_metadata(&m);
    }
});
