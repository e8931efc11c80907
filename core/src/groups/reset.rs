//! Planning an offset reset: which partitions, and the new committed offset
//! of each, from where the log starts and ends and what is committed now.
//!
//! Everything here is pure: [`GroupAdmin::plan_reset`] gathers the
//! watermarks, committed offsets and timestamp lookups, and
//! [`new_offset`] turns them into the offset to commit, the way Kafka's
//! `kafka-consumer-groups.sh --reset-offsets` does (targets outside the log
//! are clamped to its start or end).
//!
//! [`GroupAdmin::plan_reset`]: super::GroupAdmin::plan_reset

use crate::error::{Error, Result};

/// Where to move a group's committed offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetTarget {
    /// The first offset still in the log.
    Earliest,
    /// The log end: only records produced from now on are read.
    Latest,
    /// This offset, clamped to the log.
    Offset(i64),
    /// The first record with a timestamp at or after this many milliseconds
    /// since the epoch; the log end if there is none.
    Timestamp(i64),
    /// The committed offset moved by this many records (negative: back),
    /// clamped to the log.
    ShiftBy(i64),
}

/// Partitions named on the command line: a whole topic, or some of its
/// partitions (`orders` or `orders:0,2`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSelection {
    /// The topic.
    pub topic: String,
    /// The chosen partitions; `None` means all of them.
    pub partitions: Option<Vec<i32>>,
}

impl std::str::FromStr for TopicSelection {
    type Err = Error;

    /// Parses `TOPIC` or `TOPIC:P[,P...]`.
    fn from_str(input: &str) -> Result<Self> {
        let invalid = || Error::InvalidTopicSelection {
            input: input.to_owned(),
        };
        let (topic, partitions) = match input.rsplit_once(':') {
            None => (input, None),
            Some((topic, list)) => {
                let partitions = list
                    .split(',')
                    .map(|p| p.trim().parse::<i32>().ok().filter(|p| *p >= 0))
                    .collect::<Option<Vec<i32>>>()
                    .ok_or_else(invalid)?;
                (topic, Some(partitions))
            }
        };
        if topic.trim().is_empty() {
            return Err(invalid());
        }
        Ok(TopicSelection {
            topic: topic.trim().to_owned(),
            partitions,
        })
    }
}

/// One line of a reset plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetReset {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset committed now, if any.
    pub current: Option<i64>,
    /// The offset the reset commits.
    pub new: i64,
}

/// What is known about one partition when planning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionPosition {
    /// The group's committed offset, if any.
    pub committed: Option<i64>,
    /// The first offset in the log.
    pub log_start: i64,
    /// The log end offset (the offset the next record will get).
    pub log_end: i64,
    /// For [`ResetTarget::Timestamp`]: the offset of the first record at or
    /// after the timestamp, or `None` if every record is older.
    pub by_timestamp: Option<i64>,
}

/// Why a partition's new offset cannot be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// [`ResetTarget::ShiftBy`] on a partition with no committed offset.
    NothingToShift,
}

/// The offset to commit for one partition; out-of-log targets are clamped
/// to `[log_start, log_end]`.
///
/// # Errors
/// [`PlanError::NothingToShift`] when shifting a partition that has no
/// committed offset (Kafka's tool refuses this too: there is no position to
/// shift from).
pub fn new_offset(
    target: ResetTarget,
    at: PartitionPosition,
) -> std::result::Result<i64, PlanError> {
    let clamp = |offset: i64| offset.clamp(at.log_start, at.log_end.max(at.log_start));
    Ok(match target {
        ResetTarget::Earliest => at.log_start,
        ResetTarget::Latest => at.log_end,
        ResetTarget::Offset(offset) => clamp(offset),
        ResetTarget::Timestamp(_) => at.by_timestamp.map_or(at.log_end, clamp),
        ResetTarget::ShiftBy(delta) => {
            let committed = at.committed.ok_or(PlanError::NothingToShift)?;
            clamp(committed.saturating_add(delta))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(committed: Option<i64>, log_start: i64, log_end: i64) -> PartitionPosition {
        PartitionPosition {
            committed,
            log_start,
            log_end,
            by_timestamp: None,
        }
    }

    #[test]
    fn targets_map_to_offsets_clamped_to_the_log() {
        let p = at(Some(7), 2, 10);
        assert_eq!(new_offset(ResetTarget::Earliest, p), Ok(2));
        assert_eq!(new_offset(ResetTarget::Latest, p), Ok(10));
        assert_eq!(new_offset(ResetTarget::Offset(5), p), Ok(5));
        assert_eq!(new_offset(ResetTarget::Offset(0), p), Ok(2));
        assert_eq!(new_offset(ResetTarget::Offset(99), p), Ok(10));
        assert_eq!(new_offset(ResetTarget::ShiftBy(-3), p), Ok(4));
        assert_eq!(new_offset(ResetTarget::ShiftBy(2), p), Ok(9));
        assert_eq!(new_offset(ResetTarget::ShiftBy(-100), p), Ok(2));
        assert_eq!(new_offset(ResetTarget::ShiftBy(100), p), Ok(10));
        assert_eq!(new_offset(ResetTarget::ShiftBy(i64::MAX), p), Ok(10));
        assert_eq!(new_offset(ResetTarget::ShiftBy(i64::MIN), p), Ok(2));
    }

    #[test]
    fn shift_needs_a_committed_offset() {
        assert_eq!(
            new_offset(ResetTarget::ShiftBy(1), at(None, 0, 5)),
            Err(PlanError::NothingToShift)
        );
        assert_eq!(new_offset(ResetTarget::Earliest, at(None, 0, 5)), Ok(0));
    }

    #[test]
    fn timestamp_without_a_later_record_goes_to_the_end() {
        let mut p = at(None, 0, 8);
        assert_eq!(new_offset(ResetTarget::Timestamp(1), p), Ok(8));
        p.by_timestamp = Some(3);
        assert_eq!(new_offset(ResetTarget::Timestamp(1), p), Ok(3));
    }

    #[test]
    fn empty_log_resets_to_its_only_position() {
        let p = at(Some(4), 4, 4);
        for target in [
            ResetTarget::Earliest,
            ResetTarget::Latest,
            ResetTarget::Offset(0),
            ResetTarget::ShiftBy(-1),
        ] {
            assert_eq!(new_offset(target, p), Ok(4), "{target:?}");
        }
    }

    #[test]
    fn topic_selections() {
        assert_eq!(
            "orders".parse::<TopicSelection>().unwrap(),
            TopicSelection {
                topic: "orders".to_owned(),
                partitions: None
            }
        );
        assert_eq!(
            "orders:0,2".parse::<TopicSelection>().unwrap(),
            TopicSelection {
                topic: "orders".to_owned(),
                partitions: Some(vec![0, 2])
            }
        );
        for bad in ["", ":0", "orders:", "orders:x", "orders:-1", "orders:0,,1"] {
            let err = bad.parse::<TopicSelection>().expect_err(bad);
            assert!(err.to_string().contains("orders:0,2"), "{err}");
        }
    }
}
