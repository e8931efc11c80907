//! `GET|PATCH|DELETE /connectors/{name}/offsets` (KIP-875) for both connector types: a
//! source's offsets are in the worker's offset store, a sink's are its consumer group's
//! committed offsets (`connect-<name>`), shown as `{"kafka_topic", "kafka_partition"}` ->
//! `{"kafka_offset"}` as Kafka shows them.

use serde_json::Value as Json;

use fjord_core::groups::{GroupAdmin, OffsetReset};

use super::sink::group_id;
use super::worker::Worker;
use crate::connector::ConnectorType;
use crate::herder::{ConnectorOffset, ConnectorOffsets, HerderError};
use crate::record::JsonMap;

fn internal(e: impl std::fmt::Display) -> HerderError {
    HerderError::Internal(e.to_string())
}

/// A connector's committed offsets.
///
/// # Errors
/// The offsets cannot be read (a sink's group coordinator does not answer).
pub async fn read(
    worker: &Worker,
    name: &str,
    kind: ConnectorType,
) -> Result<ConnectorOffsets, HerderError> {
    match kind {
        ConnectorType::Source => Ok(ConnectorOffsets {
            offsets: worker
                .offsets()
                .all(name)
                .into_iter()
                .map(|(partition, offset)| ConnectorOffset {
                    partition,
                    offset: Some(offset),
                })
                .collect(),
        }),
        ConnectorType::Sink => {
            let admin =
                GroupAdmin::new(&worker.config().client_settings("admin")).map_err(internal)?;
            let group = group_id(name);
            let description = match admin.describe(&group).await {
                Ok(description) => description,
                Err(_) => {
                    return Ok(ConnectorOffsets {
                        offsets: Vec::new(),
                    })
                }
            };
            let lags = admin.lag(&description).await.map_err(internal)?;
            Ok(ConnectorOffsets {
                offsets: lags
                    .into_iter()
                    .filter_map(|lag| {
                        let committed = lag.committed?;
                        let mut partition = JsonMap::new();
                        partition.insert("kafka_topic".into(), Json::String(lag.partition.topic));
                        partition.insert(
                            "kafka_partition".into(),
                            Json::from(lag.partition.partition),
                        );
                        let mut offset = JsonMap::new();
                        offset.insert("kafka_offset".into(), Json::from(committed));
                        Some(ConnectorOffset {
                            partition,
                            offset: Some(offset),
                        })
                    })
                    .collect(),
            })
        }
    }
}

/// Alters (`Some`) or resets (`None`) a stopped connector's offsets.
///
/// # Errors
/// A malformed sink partition or offset (400), or the store cannot be written.
pub async fn alter(
    worker: &Worker,
    name: &str,
    kind: ConnectorType,
    offsets: Option<ConnectorOffsets>,
) -> Result<(), HerderError> {
    match kind {
        ConnectorType::Source => {
            let changes: Vec<(JsonMap, Option<JsonMap>)> = match offsets {
                Some(offsets) => offsets
                    .offsets
                    .into_iter()
                    .map(|o| (o.partition, o.offset))
                    .collect(),
                None => worker
                    .offsets()
                    .all(name)
                    .into_iter()
                    .map(|(p, _)| (p, None))
                    .collect(),
            };
            worker.offsets().put(name, changes).await.map_err(internal)
        }
        ConnectorType::Sink => {
            let admin =
                GroupAdmin::new(&worker.config().client_settings("admin")).map_err(internal)?;
            let group = group_id(name);
            match offsets {
                None => match admin.delete(&group).await {
                    Ok(()) | Err(fjord_core::Error::UnknownGroup { .. }) => Ok(()),
                    Err(e) => Err(internal(e)),
                },
                Some(offsets) => {
                    let mut plan = Vec::new();
                    for entry in offsets.offsets {
                        let topic = entry.partition.get("kafka_topic").and_then(Json::as_str);
                        let partition = entry
                            .partition
                            .get("kafka_partition")
                            .and_then(Json::as_i64);
                        let (Some(topic), Some(partition)) = (topic, partition) else {
                            return Err(HerderError::BadRequest(
                                "a sink connector's offset partition needs \"kafka_topic\" (a string) and \"kafka_partition\" (a number)".into(),
                            ));
                        };
                        let new = match &entry.offset {
                            None => {
                                return Err(HerderError::BadRequest(
                                    "resetting one partition of a sink connector is not supported; DELETE /connectors/{name}/offsets resets all".into(),
                                ))
                            }
                            Some(offset) => offset.get("kafka_offset").and_then(Json::as_i64).ok_or_else(|| {
                                HerderError::BadRequest("a sink connector's offset needs \"kafka_offset\" (a number)".into())
                            })?,
                        };
                        plan.push(OffsetReset {
                            topic: topic.to_owned(),
                            partition: i32::try_from(partition).map_err(|_| {
                                HerderError::BadRequest("kafka_partition is out of range".into())
                            })?,
                            current: None,
                            new,
                        });
                    }
                    admin.reset(&group, &plan).await.map_err(internal)
                }
            }
        }
    }
}
