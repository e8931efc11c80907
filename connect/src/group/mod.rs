//! Distributed workers' group membership over the Kafka group protocol (protocol type
//! `connect`) and the incremental cooperative assignor (KIP-415).
