//! [`TopologyTestDriver`]: runs a topology in-process, without a broker.
//!
//! Like Kafka's, it pipes typed records into input topics, processes each
//! one synchronously through every task (repartition topics included), and
//! collects what the sinks write, by topic. Beyond Kafka's, an input topic
//! can have several partitions: records are routed by Kafka's default
//! partitioner (murmur2 of the key bytes), one task per partition with its
//! own stream time, so key routing and per-partition time are tested too.
//! After each piped record the driver commits, as Kafka's does: store
//! changes go to their changelogs (readable with
//! [`TopologyTestDriver::changelog`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use fjord_core::format::Serde;

use crate::config::StreamsConfig;
use crate::error::{Result, StreamsError};
use crate::partitioner::partition_for;
use crate::processor::{PunctuationType, RecordCollector, TaskMetrics};
use crate::record::{OutputRecord, RawRecord, Record};
use crate::task::{Handlers, Task, TaskId};
use crate::topology::{PartitionPlan, Topology};

/// Runs a topology without a broker, for tests.
pub struct TopologyTestDriver {
    core: RefCell<Core>,
}

struct Core {
    plan: PartitionPlan,
    tasks: BTreeMap<TaskId, Task>,
    /// Resolved topic -> partitions, for every topic the driver routes.
    partitions: BTreeMap<String, i32>,
    /// Topic -> the sub-topology reading it.
    readers: HashMap<String, usize>,
    outputs: HashMap<String, VecDeque<OutputRecord>>,
    changelogs: HashMap<String, Vec<OutputRecord>>,
    next_offset: HashMap<(String, i32), i64>,
    wall_clock: i64,
    round_robin: i32,
    globals: crate::global::GlobalStores,
}

#[derive(Default)]
struct Collected(Vec<OutputRecord>);

impl RecordCollector for Collected {
    fn send(&mut self, record: OutputRecord) -> Result<()> {
        self.0.push(record);
        Ok(())
    }
}

impl TopologyTestDriver {
    /// A driver where every input topic has one partition.
    ///
    /// # Errors
    /// As [`TopologyTestDriver::with_partitions`].
    pub fn new(topology: Topology, config: StreamsConfig) -> Result<Self> {
        Self::with_partitions(topology, config, &[])
    }

    /// A driver where the named input topics have the given partition
    /// counts (others one). Internal topics get what a cluster would give them.
    ///
    /// # Errors
    /// A topology that cannot run with these partitions (a join of topics
    /// that are not co-partitioned).
    pub fn with_partitions(
        topology: Topology,
        config: StreamsConfig,
        partitions: &[(&str, i32)],
    ) -> Result<Self> {
        let app: Arc<str> = Arc::from(if config.application_id.is_empty() {
            "test-driver"
        } else {
            config.application_id.as_str()
        });
        let topology = Arc::new(topology);
        let mut existing: BTreeMap<String, i32> = BTreeMap::new();
        for sub in &topology.subtopologies {
            for t in topology.source_topics(sub.id) {
                if let crate::topology::TopicName::External(name) = t {
                    existing.insert(name, 1);
                }
            }
        }
        for (_, t) in &topology.global_specs {
            existing.insert(t.clone(), 1);
        }
        for (t, p) in partitions {
            existing.insert((*t).to_string(), (*p).max(1));
        }
        let plan = topology.plan(&app, &existing)?;
        let handlers = Handlers {
            deserialization: config.deserialization_handler.clone(),
            processing: config.processing_handler,
            globals: topology.globals.clone(),
        };
        let mut all_partitions = existing.clone();
        for (t, (p, _)) in &plan.internal {
            all_partitions.insert(t.clone(), *p);
        }
        let mut readers = HashMap::new();
        let mut tasks = BTreeMap::new();
        for sub in &topology.subtopologies {
            for t in &plan.sources[sub.id] {
                readers.insert(t.clone(), sub.id);
            }
            for p in 0..plan.tasks[sub.id] {
                let id = TaskId {
                    subtopology: sub.id,
                    partition: p,
                };
                tasks.insert(
                    id,
                    Task::new(id, app.clone(), topology.clone(), handlers.clone()),
                );
            }
        }
        let mut core = Core {
            plan,
            tasks,
            partitions: all_partitions,
            readers,
            outputs: HashMap::new(),
            changelogs: HashMap::new(),
            next_offset: HashMap::new(),
            wall_clock: 0,
            round_robin: 0,
            globals: topology.globals.clone(),
        };
        let mut collected = Collected::default();
        for task in core.tasks.values_mut() {
            task.init(&mut collected, 0)?;
        }
        core.route(collected.0)?;
        Ok(TopologyTestDriver {
            core: RefCell::new(core),
        })
    }

    /// An input topic with these serdes.
    pub fn input_topic<K, V>(
        &self,
        topic: &str,
        key: impl Serde<K>,
        value: impl Serde<V>,
    ) -> TestInputTopic<'_, K, V> {
        TestInputTopic {
            driver: self,
            topic: topic.to_string(),
            key: Box::new(key),
            value: Box::new(value),
        }
    }

    /// An output topic with these serdes.
    pub fn output_topic<K, V>(
        &self,
        topic: &str,
        key: impl Serde<K>,
        value: impl Serde<V>,
    ) -> TestOutputTopic<'_, K, V> {
        TestOutputTopic {
            driver: self,
            topic: topic.to_string(),
            key: Box::new(key),
            value: Box::new(value),
        }
    }

    /// Pipes one record of bytes into `topic` (at `partition`, or by key).
    ///
    /// # Errors
    /// What processing the record returned (a processor error, a
    /// deserialization error under `LogAndFail`).
    pub fn pipe_raw(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
    ) -> Result<()> {
        let mut core = self.core.borrow_mut();
        let record = OutputRecord {
            topic: topic.to_string(),
            partition,
            key,
            value,
            timestamp,
            headers: Vec::new(),
        };
        if let Some(global) = core.globals.for_topic(topic) {
            global.apply(record.key.as_deref(), record.value.as_deref());
            return Ok(());
        }
        if !core.readers.contains_key(topic) {
            return Err(StreamsError::IllegalState(format!(
                "no source of the topology reads topic '{topic}'"
            )));
        }
        core.route(vec![record])
    }

    /// Advances the mock wall clock, firing wall-clock punctuations.
    ///
    /// # Errors
    /// What a punctuation returned.
    pub fn advance_wall_clock_time(&self, by: Duration) -> Result<()> {
        let mut core = self.core.borrow_mut();
        core.wall_clock += i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let now = core.wall_clock;
        let mut collected = Collected::default();
        for task in core.tasks.values_mut() {
            task.punctuate(PunctuationType::WallClockTime, now, &mut collected, now)?;
            task.flush_changelogs(&mut collected)?;
        }
        core.route(collected.0)
    }

    /// Every entry of key-value store `name`, over all tasks, in task then
    /// key order, deserialized with these serdes.
    ///
    /// # Errors
    /// No such store, or bytes these serdes cannot read.
    pub fn key_value_store<K, V>(
        &self,
        name: &str,
        key: impl Serde<K>,
        value: impl Serde<V>,
    ) -> Result<Vec<(K, V)>> {
        let mut core = self.core.borrow_mut();
        let mut out = Vec::new();
        let mut found = false;
        for task in core.tasks.values_mut() {
            if let Ok(store) = task.stores.kv(name) {
                found = true;
                for (k, v) in store.all()? {
                    out.push((
                        key.deserialize(name, Some(&k))?,
                        value.deserialize(name, Some(&v))?,
                    ));
                }
            }
        }
        if !found {
            return Err(StreamsError::store(name, "no key-value store of this name"));
        }
        Ok(out)
    }

    /// Every entry of window store `name` as (key, window start, value).
    ///
    /// # Errors
    /// No such store, or bytes these serdes cannot read.
    pub fn window_store<K, V>(
        &self,
        name: &str,
        key: impl Serde<K>,
        value: impl Serde<V>,
    ) -> Result<Vec<(K, i64, V)>> {
        let mut core = self.core.borrow_mut();
        let mut out = Vec::new();
        let mut found = false;
        for task in core.tasks.values_mut() {
            if let Ok(store) = task.stores.window(name) {
                found = true;
                for (start, k, v) in store.all()? {
                    out.push((
                        key.deserialize(name, Some(&k))?,
                        start,
                        value.deserialize(name, Some(&v))?,
                    ));
                }
            }
        }
        if !found {
            return Err(StreamsError::store(name, "no window store of this name"));
        }
        Ok(out)
    }

    /// The records written to a changelog topic (by its full name,
    /// `<application.id>-<store>-changelog`).
    pub fn changelog(&self, topic: &str) -> Vec<OutputRecord> {
        self.core
            .borrow()
            .changelogs
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    /// Metrics summed over all tasks.
    pub fn metrics(&self) -> TaskMetrics {
        let core = self.core.borrow();
        let mut sum = TaskMetrics::default();
        for t in core.tasks.values() {
            sum.processed += t.metrics.processed;
            sum.dropped_records += t.metrics.dropped_records;
            sum.deserialization_errors += t.metrics.deserialization_errors;
        }
        sum
    }

    /// Per task: its id and metrics.
    pub fn task_metrics(&self) -> Vec<(TaskId, TaskMetrics)> {
        self.core
            .borrow()
            .tasks
            .iter()
            .map(|(id, t)| (*id, t.metrics.clone()))
            .collect()
    }

    /// The tasks the topology runs as, with these partitions.
    pub fn tasks(&self) -> Vec<TaskId> {
        self.core.borrow().tasks.keys().copied().collect()
    }

    /// The partition count of every internal topic (repartition and
    /// changelog), by full name.
    pub fn internal_topics(&self) -> BTreeMap<String, i32> {
        self.core
            .borrow()
            .plan
            .internal
            .iter()
            .map(|(t, (p, _))| (t.clone(), *p))
            .collect()
    }

    fn take_output(&self, topic: &str) -> Option<OutputRecord> {
        self.core
            .borrow_mut()
            .outputs
            .get_mut(topic)
            .and_then(VecDeque::pop_front)
    }

    fn output_len(&self, topic: &str) -> usize {
        self.core
            .borrow()
            .outputs
            .get(topic)
            .map_or(0, VecDeque::len)
    }
}

impl Core {
    /// Delivers produced records: to the task reading their topic (input
    /// and repartition topics), to the changelog log, or to the outputs.
    fn route(&mut self, records: Vec<OutputRecord>) -> Result<()> {
        let mut queue: VecDeque<OutputRecord> = records.into();
        while let Some(record) = queue.pop_front() {
            if self
                .plan
                .internal
                .get(&record.topic)
                .is_some_and(|(_, changelog)| *changelog)
            {
                self.changelogs
                    .entry(record.topic.clone())
                    .or_default()
                    .push(record);
                continue;
            }
            let Some(&sub) = self.readers.get(&record.topic) else {
                self.outputs
                    .entry(record.topic.clone())
                    .or_default()
                    .push_back(record);
                continue;
            };
            let count = self.partitions.get(&record.topic).copied().unwrap_or(1);
            let partition = match (record.partition, &record.key) {
                (Some(p), _) => p,
                (None, Some(k)) => partition_for(k, count),
                (None, None) => {
                    self.round_robin = (self.round_robin + 1) % count.max(1);
                    self.round_robin
                }
            };
            let offset = self
                .next_offset
                .entry((record.topic.clone(), partition))
                .or_insert(0);
            let raw = RawRecord {
                topic: record.topic,
                partition,
                offset: *offset,
                timestamp: record.timestamp,
                key: record.key,
                value: record.value,
                headers: record.headers,
            };
            *offset += 1;
            let id = TaskId {
                subtopology: sub,
                partition,
            };
            let wall = self.wall_clock;
            let Some(task) = self.tasks.get_mut(&id) else {
                return Err(StreamsError::IllegalState(format!(
                    "no task {id} for {}-{partition}",
                    raw.topic
                )));
            };
            let mut collected = Collected::default();
            task.process(raw, &mut collected, wall)?;
            task.flush_changelogs(&mut collected)?;
            queue.extend(collected.0);
        }
        Ok(())
    }
}

/// An input topic of a [`TopologyTestDriver`].
pub struct TestInputTopic<'d, K, V> {
    driver: &'d TopologyTestDriver,
    topic: String,
    key: Box<dyn Serde<K>>,
    value: Box<dyn Serde<V>>,
}

impl<K: 'static, V: 'static> TestInputTopic<'_, K, V> {
    /// Pipes a record with timestamp `timestamp`, partitioned by its key.
    ///
    /// # Errors
    /// What processing returned, or a serde error.
    pub fn pipe_input(&self, key: K, value: V, timestamp: i64) -> Result<()> {
        let k = self.key.serialize(&self.topic, &key)?;
        let v = self.value.serialize(&self.topic, &value)?;
        self.driver.pipe_raw(&self.topic, None, k, v, timestamp)
    }

    /// Pipes a record into a given partition.
    ///
    /// # Errors
    /// What processing returned, or a serde error.
    pub fn pipe_input_to(&self, partition: i32, key: K, value: V, timestamp: i64) -> Result<()> {
        let k = self.key.serialize(&self.topic, &key)?;
        let v = self.value.serialize(&self.topic, &value)?;
        self.driver
            .pipe_raw(&self.topic, Some(partition), k, v, timestamp)
    }

    /// Pipes records in order.
    ///
    /// # Errors
    /// The first error.
    pub fn pipe_all(&self, records: impl IntoIterator<Item = (K, V, i64)>) -> Result<()> {
        for (k, v, ts) in records {
            self.pipe_input(k, v, ts)?;
        }
        Ok(())
    }
}

/// An output topic of a [`TopologyTestDriver`]: reading takes records off
/// it, in the order they were written.
pub struct TestOutputTopic<'d, K, V> {
    driver: &'d TopologyTestDriver,
    topic: String,
    key: Box<dyn Serde<K>>,
    value: Box<dyn Serde<V>>,
}

impl<K: 'static, V: 'static> TestOutputTopic<'_, K, V> {
    /// The next record, or `None` when none is left.
    ///
    /// # Panics
    /// When the record's bytes do not fit the serdes (a test bug).
    #[allow(clippy::expect_used)]
    pub fn read_record(&self) -> Option<Record<K, V>> {
        let r = self.driver.take_output(&self.topic)?;
        let key = self
            .key
            .deserialize(&self.topic, r.key.as_deref())
            .expect("output key does not fit the output topic's key serde");
        let value = self
            .value
            .deserialize(&self.topic, r.value.as_deref())
            .expect("output value does not fit the output topic's value serde");
        Some(Record {
            key,
            value,
            timestamp: r.timestamp,
            headers: r.headers,
        })
    }

    /// The next key and value.
    pub fn read_key_value(&self) -> Option<(K, V)> {
        self.read_record().map(|r| (r.key, r.value))
    }

    /// Every record left, as keys and values.
    pub fn read_key_values(&self) -> Vec<(K, V)> {
        std::iter::from_fn(|| self.read_key_value()).collect()
    }

    /// Every record left.
    pub fn read_records(&self) -> Vec<Record<K, V>> {
        std::iter::from_fn(|| self.read_record()).collect()
    }

    /// The latest value per key of every record left, in key order.
    pub fn read_key_values_to_map(&self) -> BTreeMap<K, V>
    where
        K: Ord,
    {
        self.read_key_values().into_iter().collect()
    }

    /// Whether no record is left.
    pub fn is_empty(&self) -> bool {
        self.driver.output_len(&self.topic) == 0
    }

    /// How many records are left.
    pub fn queue_size(&self) -> usize {
        self.driver.output_len(&self.topic)
    }
}
