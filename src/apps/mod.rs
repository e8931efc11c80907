//! Fjord Streams applications shipped with Fjord: the examples' topologies,
//! shared by `examples/`, the `fjord streams example` command and the tests.

pub mod sales_prices;
pub mod word_count;
