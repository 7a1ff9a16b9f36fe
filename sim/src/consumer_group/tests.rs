use super::*;

fn cfg() -> GroupConfig {
    GroupConfig {
        partitions: 4,
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 60_000,
        initial_rebalance_delay_ms: 3_000,
        static_membership: false,
        member: "processor",
    }
}

fn beat(member: usize, incarnation: u64, seen_generation: u64, revoked: bool) -> Beat {
    Beat {
        member,
        incarnation,
        seen_generation,
        revoked,
    }
}

/// Heartbeat and return the reply's (generation, partitions, rebalancing).
fn hb(g: &mut GroupStore, c: &GroupConfig, b: Beat, now: u64) -> ((u64, Vec<PartitionId>, bool), Vec<usize>) {
    let mut out = Outcome::default();
    g.heartbeat(c, b, now, &mut out);
    let pushed = out.pushes.iter().map(|(m, _)| *m).collect();
    match out.reply {
        Some(ReadMsg::GroupState {
            generation,
            partitions,
            rebalancing,
        }) => ((generation, partitions, rebalancing), pushed),
        other => panic!("unexpected reply {other:?}"),
    }
}

fn tick(g: &mut GroupStore, c: &GroupConfig, now: u64) -> Vec<usize> {
    let mut out = Outcome::default();
    g.tick(c, now, &mut out);
    out.pushes.iter().map(|(m, _)| *m).collect()
}

/// A stable generation 1 with members 0 and 1 (formed through the initial delay).
fn stable_pair(c: &GroupConfig) -> GroupStore {
    let mut g = GroupStore::default();
    hb(&mut g, c, beat(0, 1, 0, true), 0);
    hb(&mut g, c, beat(1, 1, 0, true), 1);
    assert_eq!(tick(&mut g, c, 3_001), vec![0, 1]);
    assert_eq!(g.generation, 1);
    g
}

#[test]
fn round_robin_covers_every_partition_once() {
    let mut g = GroupStore::default();
    for m in [2, 0, 5] {
        g.members.insert(
            m,
            Member {
                incarnation: 1,
                last_seen_ms: 0,
            },
        );
    }
    g.rebalance(8);
    assert_eq!(g.generation, 1);
    let mut all: Vec<PartitionId> = g.assignment.values().flatten().copied().collect();
    all.sort();
    assert_eq!(all, (0..8).collect::<Vec<_>>());
    assert_eq!(g.assignment[&0], vec![0, 3, 6]);
    assert_eq!(g.assignment[&5], vec![2, 5]);
}

#[test]
fn the_first_generation_waits_the_initial_delay_and_each_joiner_extends_it() {
    let c = cfg();
    let mut g = GroupStore::default();
    let (state, pushed) = hb(&mut g, &c, beat(0, 1, 0, true), 0);
    assert_eq!(state, (0, vec![], true));
    assert!(pushed.is_empty());
    hb(&mut g, &c, beat(1, 1, 0, true), 2_000);
    // 3 s after the first join is not enough: the second join moved it to 5 s.
    assert!(tick(&mut g, &c, 3_100).is_empty());
    assert_eq!(g.generation, 0);
    assert_eq!(tick(&mut g, &c, 5_000), vec![0, 1]);
    assert_eq!(g.generation, 1);
    assert_eq!(g.assignment[&0], vec![0, 2]);
    assert_eq!(g.assignment[&1], vec![1, 3]);
}

#[test]
fn no_partition_moves_before_its_owner_revoked() {
    let c = cfg();
    let mut g = stable_pair(&c);
    // Member 2 joins: the group prepares, generation 1 still stands.
    let (state, pushed) = hb(&mut g, &c, beat(2, 1, 0, true), 4_000);
    assert_eq!(state, (1, vec![], true));
    assert!(pushed.is_empty());
    // Member 2 heard of generation 1 now and holds nothing: it counts as rejoined,
    // but members 0 and 1 still own their partitions.
    hb(&mut g, &c, beat(2, 1, 1, true), 4_001);
    let (state, _) = hb(&mut g, &c, beat(0, 1, 1, false), 4_500);
    assert_eq!(state, (1, vec![], true), "an owner is told to revoke");
    assert!(tick(&mut g, &c, 5_000).is_empty());
    let (_, pushed) = hb(&mut g, &c, beat(1, 1, 1, true), 5_100);
    assert!(pushed.is_empty(), "member 0 has not revoked yet");
    assert_eq!(g.generation, 1);
    let (state, pushed) = hb(&mut g, &c, beat(0, 1, 1, true), 5_200);
    assert_eq!(pushed, vec![0, 1, 2]);
    assert_eq!(g.generation, 2);
    assert_eq!(state, (2, vec![0, 3], false));
}

#[test]
fn a_rejoin_that_has_not_heard_of_the_replaced_generation_does_not_count() {
    let c = cfg();
    let mut g = stable_pair(&c);
    // Member 1 restarted: it holds nothing but knows no generation, so an assignment of
    // generation 1 could still be on its way to it.
    hb(&mut g, &c, beat(1, 2, 0, true), 4_000);
    let (_, pushed) = hb(&mut g, &c, beat(0, 1, 1, true), 4_001);
    assert!(pushed.is_empty());
    assert_eq!(g.generation, 1);
    let (_, pushed) = hb(&mut g, &c, beat(1, 2, 1, true), 4_002);
    assert_eq!(pushed, vec![0, 1]);
    assert_eq!(g.generation, 2);
}

#[test]
fn the_rebalance_timeout_removes_a_member_that_never_rejoins() {
    let c = cfg();
    let mut g = stable_pair(&c);
    hb(&mut g, &c, beat(2, 1, 1, true), 10_000);
    // Member 0 rejoins; member 1 keeps heartbeating but never revokes.
    hb(&mut g, &c, beat(0, 1, 1, true), 10_001);
    for t in (11_000..70_000).step_by(1_000) {
        hb(&mut g, &c, beat(1, 1, 1, false), t);
        hb(&mut g, &c, beat(0, 1, 1, true), t);
        hb(&mut g, &c, beat(2, 1, 1, true), t);
        assert!(tick(&mut g, &c, t).is_empty(), "completed early at {t}");
    }
    assert_eq!(tick(&mut g, &c, 70_001), vec![0, 2]);
    assert_eq!(g.generation, 2);
    assert!(!g.members.contains_key(&1));
}

#[test]
fn a_static_member_takes_its_partitions_back_without_a_rebalance() {
    let mut c = cfg();
    c.static_membership = true;
    let mut g = stable_pair(&c);
    let (state, pushed) = hb(&mut g, &c, beat(1, 2, 0, true), 5_000);
    assert_eq!(state, (1, vec![1, 3], false));
    assert!(pushed.is_empty());
    assert!(g.preparing.is_none());
    // The same restart without static membership prepares a rebalance.
    let c = cfg();
    let mut g = stable_pair(&c);
    let (state, _) = hb(&mut g, &c, beat(1, 2, 0, true), 5_000);
    assert_eq!(state, (1, vec![], true));
    assert!(g.preparing.is_some());
}

#[test]
fn an_expired_session_rebalances_without_the_member() {
    let c = cfg();
    let mut g = stable_pair(&c);
    hb(&mut g, &c, beat(0, 1, 1, false), 12_000);
    // Member 1 was last heard at 1 ms: its session ends past 10,001 ms.
    assert!(tick(&mut g, &c, 12_100).is_empty());
    assert!(g.preparing.is_some());
    assert!(!g.members.contains_key(&1));
    let (state, pushed) = hb(&mut g, &c, beat(0, 1, 1, true), 12_200);
    assert_eq!(pushed, vec![0]);
    assert_eq!(state, (2, vec![0, 1, 2, 3], false));
}
