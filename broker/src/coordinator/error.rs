//! The coordinator's domain errors, and the one place they become Kafka error codes.
//!
//! Handlers never pick a wire code for a group outcome themselves: they call
//! [`CoordinatorError::code`].

use kafka_protocol::error::ResponseError;

/// Why the coordinator refused a group or offset request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordinatorError {
    /// The group id is empty.
    #[error("the group id must not be empty")]
    InvalidGroupId,
    /// The session timeout is outside the broker's bounds.
    #[error(
        "the session timeout is outside group.min.session.timeout.ms..group.max.session.timeout.ms"
    )]
    InvalidSessionTimeout,
    /// The member id is not (or no longer) a member of the group.
    #[error("unknown member id; the member must rejoin the group")]
    UnknownMemberId,
    /// A new member must rejoin with the id it was handed (JoinGroup v4+).
    #[error("member id required; rejoin with the member id in this answer")]
    MemberIdRequired,
    /// The generation is not the group's current one.
    #[error("the generation is not the group's current one; the member must rejoin")]
    IllegalGeneration,
    /// The group is rebalancing; the member must rejoin.
    #[error("the group is rebalancing; the member must rejoin")]
    RebalanceInProgress,
    /// Another member holds this `group.instance.id`.
    #[error("another member holds this group.instance.id")]
    FencedInstanceId,
    /// Protocol type or protocols do not match the group's members, or the group is used with
    /// the other group protocol (classic vs KIP-848).
    #[error("the member's protocol does not match the group's")]
    InconsistentGroupProtocol,
    /// KIP-848: the member's epoch is ahead of the coordinator's.
    #[error("the member epoch is fenced; the member must rejoin with epoch 0")]
    FencedMemberEpoch,
    /// KIP-848: an offset commit with an epoch older than the member's.
    #[error("the member epoch is stale")]
    StaleMemberEpoch,
    /// KIP-848: an assignor the broker does not have.
    #[error("unsupported assignor; use \"uniform\" or \"range\"")]
    UnsupportedAssignor,
    /// DeleteGroups on a group with members.
    #[error("the group still has members")]
    NonEmptyGroup,
    /// The group does not exist.
    #[error("the group does not exist")]
    GroupIdNotFound,
    /// OffsetDelete of a topic the group's members subscribe to.
    #[error("the group's members subscribe to this topic")]
    GroupSubscribedToTopic,
    /// `__consumer_offsets` could not be written: nothing was acknowledged.
    #[error("cannot write __consumer_offsets: {0}")]
    Storage(String),
    /// The broker is shutting down, or the group went away while the request waited.
    #[error("the coordinator is not available: {0}")]
    NotAvailable(&'static str),
}

impl CoordinatorError {
    /// The Kafka error code a client sees.
    pub fn code(&self) -> ResponseError {
        match self {
            CoordinatorError::InvalidGroupId => ResponseError::InvalidGroupId,
            CoordinatorError::InvalidSessionTimeout => ResponseError::InvalidSessionTimeout,
            CoordinatorError::UnknownMemberId => ResponseError::UnknownMemberId,
            CoordinatorError::MemberIdRequired => ResponseError::MemberIdRequired,
            CoordinatorError::IllegalGeneration => ResponseError::IllegalGeneration,
            CoordinatorError::RebalanceInProgress => ResponseError::RebalanceInProgress,
            CoordinatorError::FencedInstanceId => ResponseError::FencedInstanceId,
            CoordinatorError::InconsistentGroupProtocol => ResponseError::InconsistentGroupProtocol,
            CoordinatorError::FencedMemberEpoch => ResponseError::FencedMemberEpoch,
            CoordinatorError::StaleMemberEpoch => ResponseError::StaleMemberEpoch,
            CoordinatorError::UnsupportedAssignor => ResponseError::UnsupportedAssignor,
            CoordinatorError::NonEmptyGroup => ResponseError::NonEmptyGroup,
            CoordinatorError::GroupIdNotFound => ResponseError::GroupIdNotFound,
            CoordinatorError::GroupSubscribedToTopic => ResponseError::GroupSubscribedToTopic,
            // Retriable for every client: it finds the coordinator again and retries, and the
            // write was not acknowledged.
            CoordinatorError::Storage(_) | CoordinatorError::NotAvailable(_) => {
                ResponseError::CoordinatorNotAvailable
            }
        }
    }

    /// The wire code as a number, 0 for no error.
    pub fn code_of<T>(result: &Result<T, CoordinatorError>) -> i16 {
        result.as_ref().err().map_or(0, |e| e.code().code())
    }
}
