//! DescribeCluster: this broker, the cluster id and the controller (itself).

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;

/// Handles a DescribeCluster request.
pub fn handle(ctx: &RequestContext<'_>, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let state = ctx.state;
    let node = BrokerId(state.config.node_id);
    let broker = DescribeClusterBroker::default()
        .with_broker_id(node)
        .with_host(StrBytes::from_string(state.advertised_host.clone()))
        .with_port(state.advertised_port);
    DescribeClusterResponse::default()
        .with_cluster_id(StrBytes::from_string(state.cluster_id.clone()))
        .with_controller_id(node)
        .with_endpoint_type(req.endpoint_type)
        .with_brokers(vec![broker])
        .with_cluster_authorized_operations(super::operations::if_requested(
            req.include_cluster_authorized_operations,
            super::operations::CLUSTER,
        ))
}
