//! Which replicas a scaling step moves: onto a joining broker until it holds
//! its share of replicas and of preferred leaderships, or off a retiring one
//! onto the least loaded of the others. Pure, so the balance is tested
//! without a run; ties go to the lowest partition and broker so a seed's
//! plan never depends on anything but the metadata.

use crate::ids::BrokerId;
use crate::msg::PartitionState;

/// One replica moving: partition `partition`'s replica on `from` goes to `to`,
/// at the same place in the replica list (so `to` is preferred leader where `from` was).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    /// The partition.
    pub partition: usize,
    /// The broker that gives the replica up.
    pub from: BrokerId,
    /// The broker that takes it.
    pub to: BrokerId,
}

/// Replicas and preferred leaderships per broker among the first `members`.
fn loads(parts: &[PartitionState], members: usize) -> (Vec<usize>, Vec<usize>) {
    let mut replicas = vec![0; members];
    let mut leads = vec![0; members];
    for s in parts {
        for (i, &b) in s.replicas.iter().enumerate() {
            if b < members {
                replicas[b] += 1;
                if i == 0 {
                    leads[b] += 1;
                }
            }
        }
    }
    (replicas, leads)
}

/// Moves that give `joining` (one of the first `members` brokers, holding nothing
/// yet) its share: `replicas / members` replicas, of which `partitions / members`
/// as preferred leader, each taken from the most loaded holder.
pub fn scale_out(parts: &[PartitionState], members: usize, joining: BrokerId) -> Vec<Move> {
    let (mut load, mut leads) = loads(parts, members);
    let total: usize = load.iter().sum();
    let want = total / members;
    let want_leads = parts.len() / members;
    let mut taken = vec![false; parts.len()];
    let mut moves = Vec::new();
    while load[joining] < want {
        let lead = leads[joining] < want_leads;
        // (donor load, partition) of the best candidate at the position wanted, else any.
        let pick = |lead_only: Option<bool>| {
            parts
                .iter()
                .enumerate()
                .filter(|(p, s)| !taken[*p] && !s.replicas.contains(&joining))
                .flat_map(|(p, s)| s.replicas.iter().enumerate().map(move |(i, &b)| (p, i, b)))
                .filter(|&(_, i, b)| b < load.len() && lead_only.is_none_or(|l| (i == 0) == l))
                .max_by_key(|&(p, _, b)| (load[b], std::cmp::Reverse(p), std::cmp::Reverse(b)))
        };
        let Some((p, i, from)) = pick(Some(lead)).or_else(|| pick(None)) else {
            break;
        };
        taken[p] = true;
        load[from] -= 1;
        load[joining] += 1;
        if i == 0 {
            leads[from] -= 1;
            leads[joining] += 1;
        }
        moves.push(Move {
            partition: p,
            from,
            to: joining,
        });
    }
    moves.sort_by_key(|m| m.partition);
    moves
}

/// Moves that empty `retiring` onto the other first `members` brokers, each
/// replica to the least loaded one that does not already hold the partition.
pub fn scale_in(parts: &[PartitionState], members: usize, retiring: BrokerId) -> Vec<Move> {
    let (mut load, _) = loads(parts, members);
    let mut moves = Vec::new();
    for s in parts.iter().filter(|s| s.replicas.contains(&retiring)) {
        let to = (0..members)
            .filter(|&b| b != retiring && !s.replicas.contains(&b))
            .min_by_key(|&b| (load[b], b));
        if let Some(to) = to {
            load[to] += 1;
            moves.push(Move {
                partition: s.partition,
                from: retiring,
                to,
            });
        }
    }
    moves
}

/// The replica list once `m` is done: `to` in `from`'s place.
pub fn target(replicas: &[BrokerId], m: &Move) -> Vec<BrokerId> {
    replicas.iter().map(|&b| if b == m.from { m.to } else { b }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(n: usize, brokers: usize, rf: usize) -> Vec<PartitionState> {
        crate::log::assign_replicas(n, brokers, rf)
            .into_iter()
            .enumerate()
            .map(|(p, replicas)| PartitionState::initial(p, replicas))
            .collect()
    }

    fn apply(ps: &mut [PartitionState], moves: &[Move]) {
        for m in moves {
            let s = &mut ps[m.partition];
            s.replicas = target(&s.replicas, m);
        }
    }

    #[test]
    fn a_joining_broker_takes_its_share_of_replicas_and_leaderships() {
        let mut ps = parts(12, 2, 2);
        let moves = scale_out(&ps, 3, 2);
        assert_eq!(moves.len(), 8, "{moves:?}");
        apply(&mut ps, &moves);
        let (load, leads) = loads(&ps, 3);
        assert_eq!(load, vec![8, 8, 8]);
        assert_eq!(leads, vec![4, 4, 4]);
        for s in &ps {
            let mut r = s.replicas.clone();
            r.dedup();
            assert_eq!(r.len(), 2, "a partition twice on one broker: {:?}", s.replicas);
        }
    }

    #[test]
    fn a_retiring_broker_is_emptied_evenly_and_never_onto_a_holder() {
        let mut ps = parts(12, 3, 2);
        let moves = scale_in(&ps, 3, 2);
        assert_eq!(moves.len(), 8);
        apply(&mut ps, &moves);
        let (load, _) = loads(&ps, 3);
        assert_eq!(load, vec![12, 12, 0]);
        assert!(ps.iter().all(|s| s.replicas[0] != s.replicas[1]));
    }
}
