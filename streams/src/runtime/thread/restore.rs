//! Opening and restoring a task's stores when its partition is assigned:
//! from the checkpointed offset when the local store is kept, else from the
//! changelog's start.

use super::*;

impl Core {
    /// The (low, high) watermarks of the changelog partitions of task `id`.
    pub(super) fn changelog_marks(&self, id: TaskId) -> Result<BTreeMap<String, (i64, i64)>> {
        let mut marks = BTreeMap::new();
        for spec in store_specs(&self.topology, id) {
            if !spec.logged {
                continue;
            }
            let topic = spec.changelog_topic(&self.application_id);
            let (low, high) = self
                .restore
                .fetch_watermarks(&topic, id.partition, Duration::from_secs(30))
                .map_err(|e| {
                    StreamsError::kafka(format!("reading the end of {topic}-{}", id.partition), e)
                })?;
            marks.insert(topic, (low, high));
        }
        Ok(marks)
    }

    /// Opens task `id`: persistent stores that a checkpoint covers keep
    /// their files and restore from the checkpointed offset; the others are
    /// wiped and restore from the changelog's start. Returns the task and
    /// the offset to restore each changelog from.
    pub(super) fn open_task(
        &self,
        id: TaskId,
        marks: &BTreeMap<String, (i64, i64)>,
    ) -> Result<(Task, BTreeMap<String, i64>)> {
        let mut from: BTreeMap<String, i64> = marks
            .iter()
            .map(|(t, (low, _))| (t.clone(), *low))
            .collect();
        let Some(state) = &self.state else {
            let task = Task::new(
                id,
                self.application_id.clone(),
                self.topology.clone(),
                self.handlers(),
            );
            return Ok((task, from));
        };
        let dir = state.task_dir(id);
        let found = match checkpoint::read(&dir) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(task = %id, error = %e, "unreadable checkpoint; restoring from the changelogs' start");
                None
            }
        };
        let mut task_state = TaskState {
            dir,
            cache_bytes: self.config.engine_cache_max_bytes,
            default_persistent: self.config.default_dsl_store == DslStore::Persistent,
            keep: BTreeSet::new(),
            checkpoint: found.clone(),
        };
        for spec in store_specs(&self.topology, id) {
            if !task_state.persistent(&spec) {
                continue;
            }
            if !spec.logged {
                // No changelog to rebuild it from: what is on disk is all there is.
                task_state.keep.insert(spec.name.clone());
                continue;
            }
            let topic = spec.changelog_topic(&self.application_id);
            let offset = found
                .as_ref()
                .and_then(|c| c.get(&(topic.clone(), id.partition)).copied());
            match (offset, marks.get(&topic)) {
                (Some(offset), Some(&(low, high))) if low <= offset && offset <= high => {
                    task_state.keep.insert(spec.name.clone());
                    from.insert(topic, offset);
                }
                (Some(offset), Some(&(low, high))) => {
                    tracing::warn!(
                        task = %id, store = spec.name, offset, low, high,
                        "checkpoint outside the changelog (was it reset?); restoring from the start"
                    );
                }
                _ => {}
            }
        }
        let task = Task::open(
            id,
            self.application_id.clone(),
            self.topology.clone(),
            self.handlers(),
            task_state,
        )?;
        Ok((task, from))
    }

    /// Replays each logged store's changelog partition, from `from` up to
    /// the high watermark, into the store; then flushes the stores and
    /// checkpoints what they reflect.
    pub(super) fn restore_task(
        &mut self,
        task: &mut Task,
        marks: &BTreeMap<String, (i64, i64)>,
        from: &BTreeMap<String, i64>,
    ) -> Result<()> {
        let partition = task.id.partition;
        let persistent = task.persistent_changelogs();
        for (store, topic) in task.changelogs.clone() {
            let Some(&(low, high)) = marks.get(&topic) else {
                continue;
            };
            let start = from.get(&topic).copied().unwrap_or(low).max(low);
            if persistent.contains(&topic) {
                task.positions.insert((topic.clone(), partition), high);
            }
            if high <= start {
                tracing::info!(thread = self.index, task = %task.id, store, records = 0, "restored (nothing past the checkpoint)");
                continue;
            }
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&topic, partition, Offset::Offset(start))
                .map_err(|e| StreamsError::kafka("restore assignment", e))?;
            self.restore
                .assign(&tpl)
                .map_err(|e| StreamsError::kafka(format!("assigning {topic}-{partition}"), e))?;
            let started = Instant::now();
            let mut count = 0u64;
            let mut last = start - 1;
            let deadline = Instant::now() + Duration::from_secs(300);
            let target = task.stores.get(&store)?;
            while last < high - 1 {
                if Instant::now() > deadline {
                    return Err(StreamsError::store(
                        &store,
                        format!("restoring {topic}-{partition} did not reach offset {high} in 300 s (at {last})"),
                    ));
                }
                match self.restore.poll(Duration::from_millis(100)) {
                    Some(Ok(m)) => {
                        last = m.offset();
                        if let Some(key) = m.key() {
                            target.restore(key, m.payload())?;
                            count += 1;
                        }
                    }
                    Some(Err(e)) => {
                        return Err(StreamsError::kafka(
                            format!("restoring {topic}-{partition}"),
                            e,
                        ))
                    }
                    None => {
                        // Compaction or control records may leave no record
                        // at the end: the consumer's position says we are there.
                        let at = self.restore.position().ok().and_then(|tpl| {
                            tpl.find_partition(&topic, partition)
                                .and_then(|e| match e.offset() {
                                    Offset::Offset(o) => Some(o),
                                    _ => None,
                                })
                        });
                        if at.is_some_and(|o| o >= high) {
                            break;
                        }
                    }
                }
            }
            self.restore
                .unassign()
                .map_err(|e| StreamsError::kafka("restore unassign", e))?;
            self.restored += count;
            self.restore_time += started.elapsed();
            tracing::info!(
                thread = self.index, task = %task.id, store, from = start, records = count,
                elapsed_ms = started.elapsed().as_millis() as u64, "restored"
            );
        }
        let flushing = Instant::now();
        task.flush_stores()?;
        self.restore_time += flushing.elapsed();
        task.write_checkpoint()
    }
}
