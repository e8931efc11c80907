//! Consumer-group helpers shared by the group tests: the group's state as DescribeGroups
//! reports it, a wait for a state, and an embedded broker whose groups react quickly.

use std::time::Duration;

use fjord_broker::EmbeddedConfig;
use kafka_protocol::messages::{DescribeGroupsRequest, GroupId};
use kafka_protocol::protocol::StrBytes;

use super::raw::RawClient;
use super::wait::eventually_async;

/// The group's state as DescribeGroups reports it (`PreparingRebalance`, `Stable`, ...).
pub async fn group_state(bs: &str, group: &str) -> String {
    let mut client = RawClient::connect(bs).await;
    let req = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(StrBytes::from_string(group.to_owned()))]);
    let resp = client.call(&req, 5).await;
    assert_eq!(resp.groups[0].error_code, 0, "DescribeGroups {group}");
    resp.groups[0].group_state.to_string()
}

/// Waits until DescribeGroups reports `group` in `state`.
pub async fn wait_for_group_state(bs: &str, group: &str, state: &str) {
    eventually_async(
        &format!("group {group} to be {state}"),
        Duration::from_secs(20),
        || async move { group_state(bs, group).await == state },
    )
    .await;
}

/// An embedded broker for group tests: sessions as short as 1 s are allowed and KIP-848
/// members heartbeat every 500 ms, so joins, leaves and expiries take seconds, not tens.
pub fn group_broker_config() -> EmbeddedConfig {
    EmbeddedConfig {
        properties: vec![
            ("group.min.session.timeout.ms".into(), "1000".into()),
            ("group.consumer.heartbeat.interval.ms".into(), "500".into()),
        ],
        ..Default::default()
    }
}
