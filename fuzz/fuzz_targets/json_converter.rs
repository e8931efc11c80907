//! Untrusted record bytes through Kafka's JsonConverter (with and without schemas), the
//! SimpleHeaderConverter and the StringConverter: any input gives a value or an error,
//! never a panic. `cargo fuzz run json_converter`.
#![no_main]

use fjord_connect::config::ConfigMap;
use fjord_connect::converters::{self, Converter, HeaderConverter, JsonConverter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for schemas in [true, false] {
        let json = JsonConverter::with_schemas(schemas);
        if let Ok(value) = json.to_connect("fuzz", Some(data)) {
            // What was read can be written back.
            let _ = json.to_bytes("fuzz", value.schema.as_deref(), &value.value);
        }
    }
    if let Ok(header) =
        converters::create_header_converter("SimpleHeaderConverter", &ConfigMap::new())
    {
        let _ = header.to_connect_header("fuzz", "h", Some(data));
    }
});
