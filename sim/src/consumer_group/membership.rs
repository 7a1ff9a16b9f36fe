//! A member's own side of the eager protocol: which generation it works in,
//! the newest one it has heard is coming, and whether it has given its
//! partitions up. The lake writers and the subscriptions' consumers read the
//! coordinator's `GroupState` through it and do their own work on the change
//! it reports (commit and drop their partitions, or claim new ones).

/// What a `GroupState` from the coordinator asks of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Nothing: an old or repeated state.
    None,
    /// A rebalance is coming: give every partition up and rejoin. `owned`
    /// says whether the member still held partitions (then it commits what
    /// it processed first, as `onPartitionsRevoked` does).
    Revoke {
        /// Whether the member held partitions until now.
        owned: bool,
    },
    /// A new generation started: claim the partitions it hands out.
    Adopt,
}

/// A member's view of its group's generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// The generation whose partitions the member holds (or last held).
    pub generation: u64,
    /// The newest generation a rebalance announced the end of.
    pub superseded_gen: u64,
    /// Whether the member has given its partitions up.
    pub revoked: bool,
}

impl Default for Membership {
    fn default() -> Self {
        Membership {
            generation: 0,
            superseded_gen: 0,
            revoked: true,
        }
    }
}

impl Membership {
    /// The newest generation the member knows of, as its heartbeats report it.
    pub fn seen(&self) -> u64 {
        self.generation.max(self.superseded_gen)
    }

    /// Take in a `GroupState` for `generation` (with `rebalancing`, the
    /// generation the group is ending) and say what the member must do.
    pub fn on_state(&mut self, generation: u64, rebalancing: bool) -> Change {
        if rebalancing {
            if generation < self.generation {
                return Change::None;
            }
            let newly = generation > self.superseded_gen;
            self.superseded_gen = self.superseded_gen.max(generation);
            if self.revoked && !newly {
                return Change::None;
            }
            let owned = !self.revoked;
            self.revoked = true;
            Change::Revoke { owned }
        } else if generation > self.seen() {
            self.generation = generation;
            self.revoked = false;
            Change::Adopt
        } else {
            Change::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_revokes_once_per_rebalance_and_adopts_only_newer_generations() {
        // A rebalance names the generation it ends; the next generation is numbered above it.
        let mut m = Membership::default();
        assert_eq!(m.on_state(1, false), Change::Adopt);
        assert_eq!(m.on_state(1, false), Change::None);
        assert_eq!(m.on_state(1, true), Change::Revoke { owned: true });
        // The same announcement again, while revoked: nothing more to give up.
        assert_eq!(m.on_state(1, true), Change::None);
        // Generation 2 ended before this member joined it: rejoin again, owning nothing.
        assert_eq!(m.on_state(2, true), Change::Revoke { owned: false });
        assert_eq!(m.on_state(2, false), Change::None, "a generation already ended");
        assert_eq!(m.seen(), 2);
        assert_eq!(m.on_state(3, false), Change::Adopt);
        assert_eq!(m.on_state(1, true), Change::None, "an old rebalance");
        assert!(!m.revoked);
        assert_eq!(m.generation, 3);
    }
}
