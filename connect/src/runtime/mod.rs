//! The worker: runs connectors and their tasks (converters, transforms, error handling,
//! producers and consumers, offsets), standalone or distributed.

pub mod connector_config;
pub mod distributed;
pub mod errors;
pub mod launch;
pub mod offsets;
pub mod offsets_api;
pub mod sink;
pub mod source;
pub mod standalone;
pub mod status;
pub mod task;
pub mod worker;
pub mod worker_config;
