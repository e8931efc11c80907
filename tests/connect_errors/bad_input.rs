//! Bad input through the REST API.
