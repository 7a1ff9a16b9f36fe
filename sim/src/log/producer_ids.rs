//! The cluster's transactional producer ids: a run-wide counter kept with
//! the controller's state, so it survives every broker (Kafka's controller
//! hands out producer-id blocks from its durable metadata log). A
//! coordinator takes a new producer id for a `transactional.id` it does not
//! know (its first `InitProducerId`, or after its state partition was lost)
//! and when an id's epoch runs out; an id handed out once is never handed
//! out again, so a rebuilt coordinator cannot give a producer id that the
//! data partitions already hold at a higher epoch.

/// Producer ids of transactional producers are apart from the idempotent ones.
const TRANSACTIONAL: u64 = 1 << 48;
/// The low bits carry the `transactional.id`, so a partition's producer id maps back to it.
const TID_BITS: u32 = 32;
/// Allocations before the counter wraps (bits 32 to 47): far more than a run makes,
/// as each is a producer's start, a lost state or an exhausted epoch.
const ALLOCATIONS: u64 = 1 << 16;

/// The run-wide producer-id counter (durable, with the controller's state).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerIds {
    /// Producer ids handed out so far.
    next: u64,
}

impl ProducerIds {
    /// A producer id never handed out before, for `transactional.id` `tid`.
    pub fn allocate(&mut self, tid: u64) -> u64 {
        let n = self.next % ALLOCATIONS;
        self.next += 1;
        TRANSACTIONAL | (n << TID_BITS) | (tid & ((1 << TID_BITS) - 1))
    }

    /// Producer ids handed out so far.
    pub fn allocated(&self) -> u64 {
        self.next
    }
}

/// The `transactional.id` whose producer id is `pid` (its low 32 bits).
pub fn tid_of(pid: u64) -> u64 {
    pid & ((1 << TID_BITS) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_allocation_is_new_and_maps_back_to_its_id() {
        let mut ids = ProducerIds::default();
        let a = ids.allocate(3);
        let b = ids.allocate(3);
        let c = ids.allocate(7);
        assert!(a != b && b != c && a != c);
        assert_eq!((tid_of(a), tid_of(b), tid_of(c)), (3, 3, 7));
        assert_eq!(ids.allocated(), 3);
        // A copy of the counter (as the controller's store is cloned) goes on from the same place.
        let mut again = ids.clone();
        assert_eq!(again.allocate(3), ids.allocate(3));
    }
}
