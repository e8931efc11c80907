//! Any record set a producer can send: validation and record decoding return errors, never
//! panic or allocate without bound.
#![no_main]

use fjord_broker::log::{record, BatchIter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for batch in BatchIter::new(data) {
        let Ok(batch) = batch else { break };
        let _ = fjord_broker::log::batch::validate_produced(&batch.header, batch.bytes, 1 << 20);
        if let Ok(records) = record::decode_records(&batch, 1 << 20) {
            for r in record::RecordIter::new(&records, batch.header.records_count).take(10_000) {
                if r.is_err() {
                    break;
                }
            }
        }
    }
});
