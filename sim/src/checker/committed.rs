//! What every check starts from: the committed end of each partition's
//! log, and how many events a witness names.

use crate::world::Shared;

/// Largest number of events named in a witness.
pub(super) const WITNESS: usize = 5;

/// The committed records of every partition that holds events: the current
/// leader's log up to the high watermark it last published. Returns, per
/// partition, the leader and the committed offset (None when the partition
/// has no leader, and for the output topic's partitions, whose records are
/// rows, not events: the events' checks skip them).
pub(super) fn committed_ends(sh: &Shared) -> Vec<Option<(usize, u64)>> {
    let mut ends = settled_ends(sh);
    for (p, e) in ends.iter_mut().enumerate() {
        if sh.output.input_of(p).is_some() {
            *e = None;
        }
    }
    ends
}

/// Each partition's replicas a clean election may choose from, as the controller
/// holds them: its in-sync replicas and its eligible leader replicas (KIP-966).
pub(super) fn electable_replicas(sh: &Shared) -> Vec<Vec<crate::ids::BrokerId>> {
    let st = sh.controller.lock().expect("controller lock");
    st.parts
        .iter()
        .map(|s| s.isr.iter().chain(&s.elr).copied().collect())
        .collect()
}

/// [`committed_ends`] with the output topic's partitions too: what the log
/// audit may fold (it summarises those without counting them as events).
pub(super) fn settled_ends(sh: &Shared) -> Vec<Option<(usize, u64)>> {
    let st = sh.controller.lock().expect("controller lock");
    let board = sh.hw_board.lock().expect("hw board lock");
    st.parts
        .iter()
        .map(|s| {
            let l = s.leader?;
            let (b, e, hw) = board[s.partition];
            Some((l, if b == l && e == s.leader_epoch { hw } else { 0 }))
        })
        .collect()
}
