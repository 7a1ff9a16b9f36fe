//! The coordinator's state machine, request by request.

use super::*;

#[test]
fn a_bumped_epoch_fences_the_older_producer() {
    let mut s = TxnCache::default();
    let (Ok((pid, e0)), _) = s.init(3, 1000, None, 0) else {
        panic!("init")
    };
    assert_eq!(s.add_partitions(3, e0, 1, &[1, 2], 0, true).1, TxnStep::Began);
    // A second instance of the id: the open transaction is aborted first...
    assert_eq!(s.init(3, 1000, None, 0).0, Err(TxnError::Concurrent));
    assert_eq!(s.get(3).map(|m| m.state), Some(TxnState::PrepareAbort));
    assert!(!s.marker_done(3, 1, (e0 + 1, 1), 0));
    assert!(s.marker_done(3, 2, (e0 + 1, 1), 1));
    assert_eq!(s.stats.resumed, 1, "finished by another broker");
    // ...then it gets a newer epoch, and the old one is refused.
    let (Ok((pid2, e2)), _) = s.init(3, 1000, None, 0) else {
        panic!("init")
    };
    assert_eq!(pid, pid2);
    assert!(e2 > e0);
    assert_eq!(s.end(3, e0, 1, true, 0, true).0, Err(TxnError::Fenced));
    assert_eq!(s.add_partitions(3, e0, 1, &[1], 5, true).0, Err(TxnError::Fenced));
    // Without fencing the stale epoch gets through (the negative control's switch).
    assert_eq!(s.add_partitions(3, e0, 1, &[1], 5, false).0, Ok(()));
}

#[test]
fn verification_takes_only_a_partition_of_the_ongoing_transaction_at_its_epoch() {
    let mut s = TxnCache::default();
    let (Ok((pid, e)), _) = s.init(2, 1000, None, 0) else {
        panic!("init")
    };
    // Nothing ongoing yet, then partition 4 added: only 4 verifies, only at this epoch.
    assert!(!s.verifies(pid, e, 4, true));
    assert_eq!(s.add_partitions(2, e, 1, &[4], 0, true).0, Ok(()));
    assert!(s.verifies(pid, e, 4, true));
    assert!(!s.verifies(pid, e, 5, true), "a partition never added");
    assert!(!s.verifies(pid, e + 1, 4, true), "another epoch");
    assert!(s.verifies(pid, e + 1, 4, false), "epochs unchecked without fencing");
    assert!(
        !s.verifies(ProducerIds::default().allocate(3), e, 4, true),
        "another producer"
    );
    // Decided: a batch arriving now (after the marker is owed) is late.
    assert_eq!(s.end(2, e, 1, false, 0, true).0, Ok(()));
    assert!(!s.verifies(pid, e, 4, true));
    assert!(s.marker_done(2, 4, (e, 1), 0));
    assert!(!s.verifies(pid, e, 4, true));
}

#[test]
fn a_late_reply_to_an_older_transactions_marker_strikes_nothing_off_the_next() {
    let mut s = TxnCache::default();
    let (Ok((_, e)), _) = s.init(5, 10_000, None, 0) else {
        panic!("init")
    };
    assert_eq!(s.add_partitions(5, e, 1, &[0, 1], 0, true).0, Ok(()));
    assert_eq!(s.end(5, e, 1, true, 0, true).0, Ok(()));
    // Transaction 1's marker to partition 0 is sent twice; the first reply finishes it.
    assert!(!s.marker_done(5, 0, (e, 1), 0));
    assert!(s.marker_done(5, 1, (e, 1), 0));
    // Transaction 2 also writes to partition 0 and is decided: its marker is owed.
    assert_eq!(s.add_partitions(5, e, 2, &[0], 10, true).0, Ok(()));
    assert_eq!(s.end(5, e, 2, true, 0, true).0, Ok(()));
    // The reply to transaction 1's second request arrives now: transaction 2's
    // partition 0 stays owed (remembered as (id, partition) alone, it was struck
    // off, and partition 0's LSO stuck at transaction 2's open records).
    assert!(!s.marker_done(5, 0, (e, 1), 0));
    assert_eq!(s.get(5).map(|m| m.pending.len()), Some(1));
    assert_eq!(s.get(5).map(|m| m.state), Some(TxnState::PrepareCommit));
    assert!(s.marker_done(5, 0, (e, 2), 0));
    assert_eq!(s.get(5).map(|m| m.state), Some(TxnState::CompleteCommit));
}

#[test]
fn a_transaction_past_its_timeout_is_aborted_and_its_producer_told() {
    let mut s = TxnCache::default();
    let (Ok((_, e)), _) = s.init(0, 100, None, 0) else {
        panic!("init")
    };
    assert_eq!(s.add_partitions(0, e, 1, &[4], 0, false).0, Ok(()));
    assert!(s.expire(99, false, 0, |_| true).is_empty());
    assert_eq!(s.expire(100, false, 0, |_| true), vec![0]);
    // Without fencing the epoch stays; the producer hears the abort at its next request.
    assert_eq!(s.end(0, e, 1, true, 0, false).0, Err(TxnError::Aborted));
    // With fencing the epoch moved on: the late producer is fenced.
    let mut f = TxnCache::default();
    let (Ok((_, e)), _) = f.init(0, 100, None, 0) else {
        panic!("init")
    };
    assert_eq!(f.add_partitions(0, e, 1, &[4], 0, true).0, Ok(()));
    f.expire(100, true, 0, |_| true);
    assert_eq!(f.end(0, e, 1, true, 0, true).0, Err(TxnError::Fenced));
    assert_eq!(f.get(0).map(|m| m.pending.len()), Some(1));
}

#[test]
fn a_late_end_txn_answers_its_own_decision_and_never_decides_the_next() {
    let mut s = TxnCache::default();
    let (Ok((pid, e)), _) = s.init(7, 10_000, None, 0) else {
        panic!("init")
    };
    assert_eq!(s.add_partitions(7, e, 1, &[0], 0, true).1, TxnStep::Began);
    assert_eq!(s.end(7, e, 1, true, 0, true), (Ok(()), TxnStep::Commit));
    assert!(s.marker_done(7, 0, (e, 1), 0));
    // A late copy of transaction 1's AddPartitions begins nothing; its answer says the
    // transaction is over (its sender drops it: the request is no longer pending).
    assert_eq!(
        s.add_partitions(7, e, 1, &[0], 10, true),
        (Err(TxnError::Aborted), TxnStep::None)
    );
    assert_eq!(s.get(7).map(|m| m.state), Some(TxnState::CompleteCommit));
    // Transaction 2 begins; a late copy of transaction 1's EndTxn gets its answer again...
    assert_eq!(s.add_partitions(7, e, 2, &[1], 20, true).1, TxnStep::Began);
    assert_eq!(s.end(7, e, 1, true, 0, true), (Ok(()), TxnStep::None));
    assert_eq!(s.end(7, e, 1, false, 0, true).0, Err(TxnError::Aborted));
    // ...and transaction 2 is still open, with its partition, for its own EndTxn.
    let m = s.get(7).expect("registered");
    assert_eq!((m.state, m.txn_no), (TxnState::Ongoing, 2));
    assert_eq!(s.add_partitions(7, e, 2, &[2], 30, true), (Ok(()), TxnStep::None));
    assert_eq!(s.end(7, e, 2, true, 0, true), (Ok(()), TxnStep::Commit));
    assert_eq!(s.get(7).map(|m| m.pending.len()), Some(2));
    // A copy of an InitProducerId already answered gets the same epoch again...
    assert!(!s.marker_done(7, 1, (e, 2), 0));
    assert!(s.marker_done(7, 2, (e, 2), 0));
    let (Ok((_, e1)), _) = s.init(7, 10_000, Some((pid, e)), 0) else {
        panic!("init")
    };
    assert_eq!(e1, e + 1);
    assert_eq!(s.init(7, 10_000, Some((pid, e)), 0).0, Ok((pid, e1)));
    // ...even with a transaction of the new epoch open, which it does not abort.
    assert_eq!(s.add_partitions(7, e1, 3, &[0], 40, true).1, TxnStep::Began);
    assert_eq!(s.init(7, 10_000, Some((pid, e)), 0).0, Ok((pid, e1)));
    assert_eq!(s.get(7).map(|m| m.state), Some(TxnState::Ongoing));
    // The producer asking from its current epoch is a new request: it bumps.
    assert_eq!(s.init(7, 10_000, Some((pid, e1)), 0).0, Err(TxnError::Concurrent));
}

#[test]
fn an_exhausted_epoch_gives_the_id_a_new_producer_id() {
    let mut s = TxnCache::default();
    let (Ok((pid, _)), _) = s.init(4, 1000, None, 0) else {
        panic!("init")
    };
    let last = MAX_PRODUCER_EPOCH - 1;
    s.by_tid.get_mut(&4).expect("registered").epoch = last;
    // The bump to the largest epoch keeps the producer id.
    assert_eq!(s.init(4, 1000, Some((pid, last)), 0).0, Ok((pid, MAX_PRODUCER_EPOCH)));
    // A transaction open at that epoch and timed out: the fencing abort goes past it
    // under the same producer id, so its markers close the records written under it.
    assert_eq!(
        s.add_partitions(4, MAX_PRODUCER_EPOCH, 1, &[2], 0, true).1,
        TxnStep::Began
    );
    assert_eq!(s.expire(1000, true, 0, |_| true), vec![4]);
    let m = s.get(4).expect("registered");
    assert_eq!(
        (m.pid, m.epoch, m.state),
        (pid, i16::MAX as u16, TxnState::PrepareAbort)
    );
    assert!(s.marker_done(4, 2, (i16::MAX as u16, 1), 0));
    // The next InitProducerId cannot bump further: a new producer id at epoch 0 (KIP-360).
    let (Ok((pid2, e2)), _) = s.init(4, 1000, Some((pid, MAX_PRODUCER_EPOCH)), 0) else {
        panic!("init")
    };
    assert_ne!(pid2, pid);
    assert_eq!((tid_of(pid2), e2), (4, 0));
    // A copy of that request gets the same answer, not a second new producer.
    assert_eq!(s.init(4, 1000, Some((pid, MAX_PRODUCER_EPOCH)), 0).0, Ok((pid2, 0)));
    // The old producer, with its larger epoch, is fenced; the new one works.
    assert_eq!(
        s.add_partitions(4, MAX_PRODUCER_EPOCH, 2, &[2], 10, true).0,
        Err(TxnError::Fenced)
    );
    assert_eq!(s.add_partitions(4, 0, 2, &[2], 10, true).1, TxnStep::Began);
    assert!(s.verifies(pid2, 0, 2, true));
    assert!(
        !s.verifies(pid, MAX_PRODUCER_EPOCH, 2, true),
        "the old producer id verifies nothing"
    );
}

#[test]
fn a_copy_of_a_new_producers_first_init_producer_id_gets_the_same_epoch() {
    let mut s = TxnCache::default();
    let mut ids = ProducerIds::default();
    // Instance 1 of the id registers; a copy of its request, arriving after the answer,
    // is the same request (it once bumped the epoch and fenced its own producer).
    let first = s.init_instance(6, 1000, None, Some(1), 0, &mut ids).0;
    assert_eq!(s.init_instance(6, 1000, None, Some(1), 0, &mut ids).0, first);
    let Ok((pid, e)) = first else { panic!("init") };
    // Instance 2 (a restart) is a new producer: it bumps, and a copy of its request does not.
    let (Ok((_, e2)), _) = s.init_instance(6, 1000, None, Some(2), 0, &mut ids) else {
        panic!("init")
    };
    assert_eq!(e2, e + 1);
    assert_eq!(s.init_instance(6, 1000, None, Some(2), 0, &mut ids).0, Ok((pid, e2)));
    // Instance 1, now a zombie, is fenced on its next request.
    assert_eq!(s.add_partitions(6, e, 1, &[0], 0, true).0, Err(TxnError::Fenced));
}

#[test]
fn a_coordinator_that_lost_the_state_gives_a_new_producer_id() {
    // The cluster's counter outlives every coordinator; the first one's state is lost.
    let mut ids = ProducerIds::default();
    let mut first = TxnCache::default();
    let (Ok((pid, _)), _) = first.init_instance(2, 1000, None, Some(1), 0, &mut ids) else {
        panic!("init")
    };
    let mut rebuilt = TxnCache::default();
    let (Ok((pid2, e2)), _) = rebuilt.init_instance(2, 1000, Some((pid, 40)), Some(2), 1, &mut ids) else {
        panic!("init")
    };
    // Not the old producer id at epoch 0, which the partitions would fence as a zombie.
    assert_ne!(pid2, pid);
    assert_eq!((tid_of(pid2), e2), (2, 0));
    // A copy of that request gets the same answer and takes no further id.
    let before = ids.allocated();
    assert_eq!(
        rebuilt.init_instance(2, 1000, Some((pid, 40)), Some(2), 1, &mut ids).0,
        Ok((pid2, 0))
    );
    assert_eq!(ids.allocated(), before);
}

#[test]
fn an_offset_commit_changes_no_state_of_a_timed_out_transaction() {
    // Fencing off: a timeout's abort keeps the epoch and flags the id instead.
    let mut s = TxnCache::default();
    let (Ok((_, e)), _) = s.init(8, 100, None, 0) else {
        panic!("init")
    };
    assert_eq!(s.add_partitions(8, e, 1, &[2], 0, false).1, TxnStep::Began);
    assert_eq!(s.expire(200, false, 0, |_| true), vec![8]);
    let before = s.get(8).cloned().expect("registered");
    assert!(before.timed_out);
    // The offsets are refused, and the cache is what the log holds: the flag stays for
    // the next request that writes a state record.
    assert_eq!(s.check_open(8, e, 1, false), Err(TxnError::Aborted));
    assert_eq!(s.get(8), Some(&before));
    assert_eq!(s.end(8, e, 1, true, 0, false).0, Err(TxnError::Aborted));
    assert!(!s.get(8).expect("registered").timed_out);
}
