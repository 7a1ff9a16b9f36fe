//! The controller's metadata log: what survives a controller crash.

use crate::msg::PartitionState;

/// The controller's durable state.
#[derive(Debug, Clone, Default)]
pub struct ControllerStore {
    /// Every partition's state.
    pub parts: Vec<PartitionState>,
    /// Whether each broker is registered and unfenced.
    pub alive: Vec<bool>,
    /// Incarnation each broker last registered with (0: never).
    pub incarnation: Vec<u64>,
    /// Whether the store was initialised.
    pub initialised: bool,
    /// Replicas a reassignment removed, by (broker, partition): the broker is told
    /// again on each heartbeat, so a lost message cannot leave it a replica nobody
    /// counts on fetching for ever.
    pub dropped: std::collections::BTreeSet<(crate::ids::BrokerId, crate::ids::PartitionId)>,
    /// The transactional producer ids handed out (durable, like the controller's producer-id blocks).
    pub producer_ids: super::producer_ids::ProducerIds,
}
