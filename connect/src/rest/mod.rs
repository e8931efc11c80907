//! Kafka Connect's REST API over a [`crate::herder::Herder`].
