//! The literature's stream processor: sales in, new prices per quantity out.
//!
//! Input: sale records as JSON on `sales`, keyed by product or not keyed:
//! `{"product": str, "quantity": int, "price_per_quantity": float, "ts": epoch ms}`.
//! `ts` is the event time. Outputs, all keyed by product:
//! - `prices`: each sale with its volume price, `new_price_per_quantity`:
//!   5% off from 10 units, 10% off from 100, rounded to cents;
//! - `revenue-by-product`: `{"product", "revenue"}`, the running sum of
//!   quantity x new price per quantity (an aggregate in the changelog-backed
//!   store `revenue-store`);
//! - `sales-per-minute`: `{"product", "window_start", "window_end", "count"}`,
//!   sales per product per one-minute tumbling window (grace 10 s), emitted
//!   once per window after it closes.
//!
//! The sales are first re-keyed by product through the repartition topic
//! `<application.id>-sales-by-product-repartition`, so every sale of a
//! product reaches the task that holds that product's state.

use std::time::Duration;

use fjord_core::format::{Bytes, Int64, Json, Nullable, Utf8};
use fjord_streams::{
    Consumed, Grouped, Materialized, Produced, Repartitioned, StreamsBuilder, TimeWindows, Topology,
};
use serde::{Deserialize, Serialize};

/// The input topic.
pub const SALES: &str = "sales";
/// Each sale with its volume price.
pub const PRICES: &str = "prices";
/// Running revenue per product.
pub const REVENUE: &str = "revenue-by-product";
/// Sales per product per minute.
pub const SALES_PER_MINUTE: &str = "sales-per-minute";
/// The default application id.
pub const APPLICATION_ID: &str = "sales-prices";

/// A sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sale {
    /// What was sold.
    pub product: String,
    /// How many.
    pub quantity: i64,
    /// The list price of one.
    pub price_per_quantity: f64,
    /// When, ms since the epoch.
    pub ts: i64,
}

/// A sale with its volume price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// What was sold.
    pub product: String,
    /// How many.
    pub quantity: i64,
    /// The list price of one.
    pub price_per_quantity: f64,
    /// The price of one after the volume discount, rounded to cents.
    pub new_price_per_quantity: f64,
    /// When.
    pub ts: i64,
}

/// The running revenue of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revenue {
    /// The product.
    pub product: String,
    /// Sum of quantity x new price per quantity, in currency units.
    pub revenue: f64,
}

/// Sales of a product in one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesPerMinute {
    /// The product.
    pub product: String,
    /// Window start, ms since the epoch.
    pub window_start: i64,
    /// Window end (exclusive).
    pub window_end: i64,
    /// Sales in the window.
    pub count: i64,
}

/// The window of `sales-per-minute`.
pub fn windows() -> TimeWindows {
    TimeWindows::of_size_and_grace(Duration::from_secs(60), Duration::from_secs(10))
}

/// The volume price of one unit in cents: 5% off from 10 units, 10% off
/// from 100, rounded to the nearest cent.
pub fn volume_price_cents(price_per_quantity: f64, quantity: i64) -> i64 {
    let factor = if quantity >= 100 {
        0.90
    } else if quantity >= 10 {
        0.95
    } else {
        1.0
    };
    (price_per_quantity * factor * 100.0).round() as i64
}

/// A sale priced.
pub fn price(sale: &Sale) -> Price {
    Price {
        product: sale.product.clone(),
        quantity: sale.quantity,
        price_per_quantity: sale.price_per_quantity,
        new_price_per_quantity: volume_price_cents(sale.price_per_quantity, sale.quantity) as f64
            / 100.0,
        ts: sale.ts,
    }
}

/// The topology.
///
/// # Errors
/// None in practice: the topology is fixed; kept for the builder's checks.
pub fn topology() -> fjord_streams::Result<Topology> {
    let b = StreamsBuilder::new();
    let sales = b
        .stream(
            SALES,
            Consumed::with(Nullable(Bytes), Json::<Sale>::new())
                .with_name("sales-source")
                .with_timestamp_extractor(|_, sale: &Sale, _| sale.ts),
        )
        .select_key(|_, sale| sale.product.clone())
        .named("key-by-product")
        .repartition(Repartitioned::as_("sales-by-product").with_serdes(Utf8, Json::<Sale>::new()));
    let prices = sales
        .clone()
        .map_values(|s| price(&s))
        .named("volume-price");
    prices.clone().to(
        PRICES,
        Produced::with(Utf8, Json::<Price>::new()).with_name("prices-sink"),
    );
    prices
        .group_by_key(Grouped::default())
        .aggregate(
            || 0i64,
            |_, p: Price, cents| {
                cents + p.quantity * (p.new_price_per_quantity * 100.0).round() as i64
            },
            Materialized::as_("revenue-store").with_value_serde(Int64),
        )
        .to_stream()
        .map_values_with_key(|product, cents| Revenue {
            product: product.clone(),
            revenue: cents.unwrap_or(0) as f64 / 100.0,
        })
        .named("revenue")
        .to(
            REVENUE,
            Produced::with(Utf8, Json::<Revenue>::new()).with_name("revenue-sink"),
        );
    sales
        .group_by_key(Grouped::default())
        .windowed_by(windows())
        .emit_final()
        .count(Materialized::as_("sales-per-minute-store"))
        .to_stream()
        .map(|wk, count| {
            let out = SalesPerMinute {
                product: wk.key.clone(),
                window_start: wk.window.start,
                window_end: wk.window.end,
                count: count.unwrap_or(0),
            };
            (wk.key, out)
        })
        .named("per-minute")
        .to(
            SALES_PER_MINUTE,
            Produced::with(Utf8, Json::<SalesPerMinute>::new()).with_name("sales-per-minute-sink"),
        );
    b.build()
}

/// A reproducible day of sales: `n` sales of a few products, one every
/// 7 seconds of event time from `start`, quantities from 1 to 150.
pub fn generate(n: usize, start: i64) -> Vec<Sale> {
    const PRODUCTS: [(&str, f64); 4] = [
        ("apples", 0.5),
        ("bread", 2.2),
        ("cheese", 7.99),
        ("dates", 3.25),
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (product, price) = PRODUCTS[(state % 4) as usize];
            let quantity = [1, 3, 9, 10, 12, 50, 99, 100, 150][((state >> 8) % 9) as usize];
            Sale {
                product: product.to_string(),
                quantity,
                price_per_quantity: price,
                ts: start + i as i64 * 7_000,
            }
        })
        .collect()
}

/// What the topology must write for `sales`, read in the order given, when
/// the repartition topic has `partitions` partitions: every price, the final
/// revenue per product in cents, and the windows that close. Stream time is
/// per task, so a product's windows close when the sales of its partition
/// (products hash to partitions as Kafka's default partitioner puts them)
/// pass the window's end plus grace.
pub fn expected(sales: &[Sale], partitions: i32) -> Expected {
    use std::collections::BTreeMap;
    let prices: Vec<Price> = sales.iter().map(price).collect();
    let mut revenue: BTreeMap<String, i64> = BTreeMap::new();
    for p in &prices {
        *revenue.entry(p.product.clone()).or_default() +=
            p.quantity * (p.new_price_per_quantity * 100.0).round() as i64;
    }
    let w = windows();
    let partition =
        |product: &str| fjord_streams::partitioner::partition_for(product.as_bytes(), partitions);
    let mut stream_time: BTreeMap<i32, i64> = BTreeMap::new();
    let mut counts: BTreeMap<(i64, String), i64> = BTreeMap::new();
    let mut closed = Vec::new();
    for s in sales {
        let p = partition(&s.product);
        let t = stream_time.entry(p).or_insert(i64::MIN);
        *t = (*t).max(s.ts);
        let start = s.ts / w.size_ms() * w.size_ms();
        if start + w.size_ms() + w.grace_ms() > *t {
            *counts.entry((start, s.product.clone())).or_default() += 1;
        }
        let now = *t;
        let due: Vec<(i64, String)> = counts
            .keys()
            .filter(|(start, product)| {
                partition(product) == p && start + w.size_ms() + w.grace_ms() <= now
            })
            .cloned()
            .collect();
        for key in due {
            let count = counts.remove(&key).unwrap_or(0);
            closed.push(SalesPerMinute {
                product: key.1,
                window_start: key.0,
                window_end: key.0 + w.size_ms(),
                count,
            });
        }
    }
    Expected {
        prices,
        revenue_cents: revenue,
        sales_per_minute: closed,
    }
}

/// The outputs [`expected`] computes.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// One per sale, in input order.
    pub prices: Vec<Price>,
    /// The final revenue per product, in cents.
    pub revenue_cents: std::collections::BTreeMap<String, i64>,
    /// The windows emitted, in emission order per partition.
    pub sales_per_minute: Vec<SalesPerMinute>,
}

/// The Streams configuration of the app: Kafka Streams' defaults, but a
/// commit every second so results show up quickly.
pub fn streams_config(
    bootstrap: &str,
    application_id: &str,
    state_dir: &std::path::Path,
) -> fjord_streams::StreamsConfig {
    let mut config = fjord_streams::StreamsConfig::new(application_id, bootstrap);
    config.commit_interval = Duration::from_secs(1);
    config.state_dir = state_dir.to_path_buf();
    config
}

/// Creates the input and output topics that do not exist yet.
///
/// # Errors
/// A cluster that refuses or cannot be reached.
pub async fn create_topics(bootstrap: &str, partitions: i32) -> anyhow::Result<()> {
    let admin = fjord_core::TopicAdmin::new(&fjord_core::ClientSettings::new(bootstrap))?;
    for topic in [SALES, PRICES, REVENUE, SALES_PER_MINUTE] {
        let mut spec = fjord_core::NewTopicSpec::new(topic);
        spec.partitions = Some(partitions);
        match admin.create(&spec).await {
            Ok(()) | Err(fjord_core::Error::TopicAlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// What the app wrote to its output topics.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// Every record of `prices`, by partition then offset.
    pub prices: Vec<Price>,
    /// The last record of `revenue-by-product` per product.
    pub revenue: std::collections::BTreeMap<String, Revenue>,
    /// Every record of `sales-per-minute`.
    pub windows: Vec<SalesPerMinute>,
}

impl Outputs {
    /// Whether these outputs hold at least what `want` expects: as many
    /// prices and windows, and the final revenue of every product.
    pub fn holds(&self, want: &Expected) -> bool {
        self.prices.len() >= want.prices.len()
            && self.windows.len() >= want.sales_per_minute.len()
            && want.revenue_cents.iter().all(|(p, c)| {
                self.revenue
                    .get(p)
                    .is_some_and(|r| (r.revenue * 100.0).round() as i64 == *c)
            })
    }

    /// How these outputs differ from exactly `want` (same prices and windows
    /// as multisets, same final revenue), or `None`.
    pub fn difference(&self, want: &Expected) -> Option<String> {
        let mut got_prices = self.prices.clone();
        got_prices.sort_by(|a, b| (a.ts, &a.product).cmp(&(b.ts, &b.product)));
        let mut want_prices = want.prices.clone();
        want_prices.sort_by(|a, b| (a.ts, &a.product).cmp(&(b.ts, &b.product)));
        if got_prices != want_prices {
            return Some(format!(
                "prices differ:\n got {got_prices:?}\nwant {want_prices:?}"
            ));
        }
        let order = |a: &SalesPerMinute, b: &SalesPerMinute| {
            (a.window_start, &a.product).cmp(&(b.window_start, &b.product))
        };
        let mut got_windows = self.windows.clone();
        got_windows.sort_by(order);
        let mut want_windows = want.sales_per_minute.clone();
        want_windows.sort_by(order);
        if got_windows != want_windows {
            return Some(format!(
                "sales per minute differ:\n got {got_windows:?}\nwant {want_windows:?}"
            ));
        }
        let got_revenue: std::collections::BTreeMap<String, i64> = self
            .revenue
            .iter()
            .map(|(p, r)| (p.clone(), (r.revenue * 100.0).round() as i64))
            .collect();
        if got_revenue != want.revenue_cents {
            return Some(format!(
                "revenue differs:\n got {got_revenue:?}\nwant {:?}",
                want.revenue_cents
            ));
        }
        None
    }
}

/// Reads the output topics (`partitions` each) from the start until `done`
/// holds for what was read, or `timeout` passes.
///
/// # Errors
/// The timeout (saying what was read), a bad record, or a client failure.
pub fn read_outputs(
    bootstrap: &str,
    partitions: i32,
    timeout: Duration,
    done: impl Fn(&Outputs) -> bool,
) -> anyhow::Result<Outputs> {
    use anyhow::Context as _;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;
    let consumer: BaseConsumer = fjord_core::ClientSettings::new(bootstrap)
        .consumer_config(None)
        .create()?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    for topic in [PRICES, REVENUE, SALES_PER_MINUTE] {
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, rdkafka::Offset::Beginning)?;
        }
    }
    consumer.assign(&tpl)?;
    drop(tpl);
    let mut out = Outputs::default();
    let deadline = std::time::Instant::now() + timeout;
    let result = loop {
        if done(&out) {
            break Ok(());
        }
        if std::time::Instant::now() > deadline {
            break Err(anyhow::anyhow!(
                "after {timeout:?} the outputs hold {} prices, {} windows, revenue {:?}",
                out.prices.len(),
                out.windows.len(),
                out.revenue
            ));
        }
        let Some(m) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m?;
        let value = m.payload().context("an output record without a value")?;
        match m.topic() {
            PRICES => out.prices.push(serde_json::from_slice(value)?),
            REVENUE => {
                let r: Revenue = serde_json::from_slice(value)?;
                out.revenue.insert(r.product.clone(), r);
            }
            _ => out.windows.push(serde_json::from_slice(value)?),
        }
    };
    fjord_core::close_consumer(consumer, "output reader", Duration::from_secs(5))?;
    result.map(|()| out)
}
