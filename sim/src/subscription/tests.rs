//! The poll watch on its own: what each consumer-side check takes as an
//! anomaly, and what it must not (a fetch that starts inside a batch, a
//! re-read after a rebalance, an offset reset).

use super::polls::{Poll, PollWatch};
use crate::record::{Batch, EventId, ProducerStamp, Record};

fn names() -> Vec<String> {
    vec!["a".to_string(), "b".to_string()]
}

/// A batch of `n` records at `base` from producer `pid` at sequence `seq`, its ids from `first`.
fn batch(base: u64, n: u64, pid: u64, seq: u64, first: u64) -> Batch {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            id: EventId {
                client: pid as u32,
                seq: first + i,
            },
            key: 0,
            size: 10,
            event_time_ms: 0,
            schema_version: 1,
            malformed: false,
            born_us: 0,
        })
        .collect();
    Batch {
        base_offset: base,
        epoch: 0,
        producer: Some(ProducerStamp {
            pid,
            epoch: 0,
            base_seq: seq,
            transactional: false,
        }),
        records: records.into(),
        bytes: 10 * n,
        control: None,
        txn_state: None,
    }
}

/// The tail of `b` from `offset`, as a fetch that starts inside it returns it.
fn tail(b: &Batch, offset: u64) -> Batch {
    let skip = (offset - b.base_offset) as usize;
    Batch {
        base_offset: offset,
        records: b.records.slice(skip..b.records.len()),
        ..b.clone()
    }
}

fn poll(sub: usize, consumer: usize, generation: u64, lo: u64, hi: u64) -> Poll {
    Poll {
        sub,
        consumer,
        incarnation: 1,
        generation,
        partition: 0,
        lo,
        hi,
        at_ms: 1,
    }
}

fn found(w: &PollWatch) -> Vec<&str> {
    w.found.iter().map(|v| v.invariant.as_str()).collect()
}

#[test]
fn consecutive_polls_from_the_committed_offset_are_clean() {
    let mut w = PollWatch::new(1);
    w.assigned((0, 0), 1, 0, 1, Some(0));
    let b1 = batch(0, 5, 1, 0, 0);
    let b2 = batch(5, 5, 1, 5, 5);
    assert!(w.polled(&names(), poll(0, 0, 1, 0, 5), &[&b1]).is_empty());
    assert!(w.polled(&names(), poll(0, 0, 1, 5, 10), &[&b2]).is_empty());
    // A new generation restarts from the committed offset: re-reading is no anomaly.
    w.assigned((0, 0), 1, 0, 2, Some(5));
    assert!(w.polled(&names(), poll(0, 0, 2, 5, 10), &[&b2]).is_empty());
    assert!(w.found.is_empty());
}

#[test]
fn a_poll_past_the_previous_end_is_a_skip_and_one_before_it_goes_backward() {
    let mut w = PollWatch::new(1);
    w.assigned((0, 0), 1, 0, 1, Some(0));
    let b1 = batch(0, 5, 1, 0, 0);
    let b3 = batch(10, 5, 1, 10, 10);
    w.polled(&names(), poll(0, 0, 1, 0, 5), &[&b1]);
    let notes = w.polled(&names(), poll(0, 0, 1, 10, 15), &[&b3]);
    assert_eq!(found(&w), ["poll_skip"]);
    assert!(notes[0].contains("offsets 5..10 were skipped"), "{notes:?}");
    w.polled(&names(), poll(0, 0, 1, 12, 15), &[&tail(&b3, 12)]);
    assert_eq!(found(&w), ["poll_skip", "nonmonotonic_poll"]);
    assert_eq!(w.counts[&(0, "poll_skip")], 1);
}

#[test]
fn the_first_poll_of_an_assignment_must_start_at_the_committed_offset() {
    let mut w = PollWatch::new(1);
    w.assigned((1, 2), 1, 0, 3, Some(4));
    w.polled(&names(), poll(1, 2, 3, 6, 10), &[&batch(6, 4, 1, 6, 6)]);
    assert_eq!(found(&w), ["poll_skip"]);
    assert!(w.found[0].detail.contains("b consumer 2"), "{}", w.found[0].detail);
    // Without a committed offset (an offset reset) any start is fine, and a seek moves the start.
    let mut w = PollWatch::new(1);
    w.assigned((0, 0), 1, 0, 1, None);
    w.polled(&names(), poll(0, 0, 1, 7, 10), &[&batch(7, 3, 1, 7, 7)]);
    w.seek((0, 0), 0, 3);
    w.polled(&names(), poll(0, 0, 1, 3, 5), &[&batch(3, 2, 1, 3, 3)]);
    assert!(w.found.is_empty(), "{:?}", w.found);
}

#[test]
fn views_of_one_batch_agree_however_a_fetch_cut_it() {
    let mut w = PollWatch::new(1);
    let b = batch(10, 10, 7, 100, 100);
    w.polled(&names(), poll(0, 0, 1, 10, 20), &[&b]);
    w.polled(&names(), poll(1, 0, 1, 14, 20), &[&tail(&b, 14)]);
    // A new leader's log keeps the front of the batch and the rest is a different one: the
    // front still agrees.
    let front = Batch {
        records: b.records.slice(0..5),
        ..b.clone()
    };
    w.polled(&names(), poll(1, 1, 1, 10, 15), &[&front]);
    assert!(w.found.is_empty(), "{:?}", w.found);
    // Different records at offsets 15..20: another producer's batch.
    w.polled(&names(), poll(1, 1, 1, 15, 20), &[&batch(15, 5, 8, 0, 0)]);
    assert_eq!(found(&w), ["inconsistent_offsets"]);
    assert!(
        w.found[0].detail.contains("different records at offset 15"),
        "{}",
        w.found[0].detail
    );
}

#[test]
fn fingerprints_below_every_committed_offset_are_forgotten() {
    let mut w = PollWatch::new(1);
    w.polled(&names(), poll(0, 0, 1, 0, 5), &[&batch(0, 5, 1, 0, 0)]);
    w.polled(&names(), poll(0, 0, 1, 5, 10), &[&batch(5, 5, 1, 5, 5)]);
    assert_eq!(w.held(), 2);
    w.prune(0, 5);
    assert_eq!(w.held(), 1);
    // Once forgotten, a different batch there is no longer compared.
    w.polled(&names(), poll(1, 0, 1, 0, 5), &[&batch(0, 5, 9, 0, 0)]);
    assert!(w.found.is_empty());
}

#[test]
fn a_processor_and_a_subscription_that_saw_different_records_at_one_offset_are_caught() {
    let mut w = PollWatch::new(1);
    let b = batch(10, 10, 1, 0, 0);
    // The processors' group reads the batch, then a subscription reads its tail: one view.
    assert!(w.processors_polled(&names(), 0, &[&b], 1).is_empty());
    w.polled(&names(), poll(0, 0, 1, 14, 20), &[&tail(&b, 14)]);
    assert!(w.found.is_empty(), "{:?}", w.found);
    // Negative control: a subscription sees another producer's batch at those offsets.
    w.polled(&names(), poll(1, 0, 1, 10, 15), &[&batch(10, 5, 8, 0, 0)]);
    assert_eq!(found(&w), vec!["inconsistent_offsets"]);
    assert!(
        w.found[0]
            .detail
            .contains("but the processors' group had read offsets 10..20"),
        "{}",
        w.found[0].detail
    );
    assert_eq!(w.counts.get(&(1, "inconsistent_offsets")), Some(&1));
    // And the other way round: the processors read what differs from a subscription's view.
    let mut w = PollWatch::new(1);
    w.polled(&names(), poll(0, 1, 1, 0, 5), &[&batch(0, 5, 1, 0, 0)]);
    let notes = w.processors_polled(&names(), 0, &[&batch(0, 5, 2, 0, 0)], 2);
    assert_eq!(notes.len(), 1);
    assert!(w.found[0].detail.starts_with("the processors' group read partition 0"));
    assert_eq!(w.counts.get(&(0, "inconsistent_offsets")), Some(&1));
    // A partition the watch does not cover (an output partition) is ignored.
    assert!(w.processors_polled(&names(), 3, &[&b], 3).is_empty());
}
