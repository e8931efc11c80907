//! The worker: runs connectors and their tasks (converters, transforms, error handling,
//! producers and consumers, offsets), standalone or distributed.
