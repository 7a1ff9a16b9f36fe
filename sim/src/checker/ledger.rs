//! What the clients know: every event generated, how many times it was
//! sent, whether it was acknowledged or dead-lettered, and whether any
//! attempt timed out without an answer, and which the client gave up on
//! when their delivery timeout passed.

use crate::event_sets::IntervalSet;
use crate::record::{EventId, Record};
use std::collections::BTreeMap;

/// One client's ledger.
#[derive(Debug, Default, Clone)]
pub struct ClientLedger {
    /// Events generated: sequences `[0, generated)`.
    pub generated: u64,
    /// The client drew its whole share of the workload (up to the workload's end).
    pub generation_done: bool,
    /// Sequences sent at least once. A producer batches per partition, so first
    /// sends do not go out in sequence order: a high-water mark would count a late
    /// first send of a low sequence as a retry.
    pub sent: IntervalSet,
    /// Attempts beyond the first, by sequence (retries and duplicate sends are rare).
    pub extra_attempts: BTreeMap<u64, u32>,
    /// Acknowledged sequences.
    pub acked: IntervalSet,
    /// Dead-lettered sequences.
    pub dead: IntervalSet,
    /// Sequences with at least one attempt that timed out unanswered.
    pub timed_out: IntervalSet,
    /// Sequences the gateways' rate limit refused at least once.
    pub rate_limited: IntervalSet,
    /// Sequences whose delivery timeout passed before an acknowledgement: the
    /// client gave up on them (a failed send; the log may still hold them).
    pub expired: IntervalSet,
    /// Of `expired`, those never acknowledged nor dead-lettered: failed, not uncertain.
    pub expired_unsettled: u64,
}

impl ClientLedger {
    /// A first answer for `seq` (a copy of an event sent twice can be answered
    /// after the client gave up on the other): it is no longer only failed.
    fn answered_after_expiry(&mut self, seq: u64, first: bool) {
        if first && !(self.acked.contains(seq) && self.dead.contains(seq)) && self.expired.contains(seq) {
            self.expired_unsettled -= 1;
        }
    }

    /// Attempts made for a sequence.
    pub fn attempts(&self, seq: u64) -> u32 {
        if !self.sent.contains(seq) {
            0
        } else {
            1 + self.extra_attempts.get(&seq).copied().unwrap_or(0)
        }
    }

    /// Whether the event reached a final answer.
    pub fn settled(&self, seq: u64) -> bool {
        self.acked.contains(seq) || self.dead.contains(seq)
    }

    /// Events generated that have no answer and were not given up on.
    pub fn uncertain(&self) -> u64 {
        self.generated - self.acked.len() - self.dead.len() - self.expired_unsettled
    }
}

/// All clients' ledgers.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// By client index.
    pub clients: Vec<ClientLedger>,
}

impl Ledger {
    /// Empty ledgers for `clients` clients.
    pub fn new(clients: usize) -> Self {
        Ledger {
            clients: vec![ClientLedger::default(); clients],
        }
    }

    /// The client generated events up to (not including) `upto`.
    pub fn generated(&mut self, client: usize, upto: u64) {
        self.clients[client].generated = upto;
    }

    /// The client drew its last events: nothing more will be generated.
    pub fn generation_done(&mut self, client: usize) {
        self.clients[client].generation_done = true;
    }

    /// Every client drew its whole share: what is generated now is all there will be.
    pub fn all_generated(&self) -> bool {
        self.clients.iter().all(|c| c.generation_done)
    }

    /// Records are being sent.
    pub fn attempted(&mut self, records: &[Record]) {
        for r in records {
            let c = &mut self.clients[r.id.client as usize];
            if !c.sent.insert(r.id.seq) {
                *c.extra_attempts.entry(r.id.seq).or_insert(0) += 1;
            }
        }
    }

    /// Records were refused by backpressure before the gateway took them.
    pub fn unattempted(&mut self, records: &[Record]) {
        for r in records {
            let c = &mut self.clients[r.id.client as usize];
            match c.extra_attempts.get_mut(&r.id.seq) {
                Some(n) => {
                    *n -= 1;
                    if *n == 0 {
                        c.extra_attempts.remove(&r.id.seq);
                    }
                }
                // A first attempt that never reached the gateway: not sent after all.
                None => {
                    c.sent.remove(r.id.seq);
                }
            }
        }
    }

    /// Records whose request timed out.
    pub fn timed_out(&mut self, records: &[Record]) {
        for r in records {
            self.clients[r.id.client as usize].timed_out.insert(r.id.seq);
        }
    }

    /// Records the gateways' rate limit refused: not taken, so not an attempt, and
    /// remembered as refused.
    pub fn rate_limited(&mut self, records: &[Record]) {
        self.unattempted(records);
        for r in records {
            self.clients[r.id.client as usize].rate_limited.insert(r.id.seq);
        }
    }

    /// Events the rate limit refused at least once, and how many of them were
    /// acknowledged (or dead-lettered) after a retry.
    pub fn rate_limited_counts(&self) -> (u64, u64) {
        let mut refused = 0;
        let mut delivered = 0;
        for c in &self.clients {
            refused += c.rate_limited.len();
            for (lo, hi) in c.rate_limited.spans() {
                delivered += (lo..hi).filter(|&s| c.settled(s)).count() as u64;
            }
        }
        (refused, delivered)
    }

    /// An acknowledgement; returns whether it is the first for this event.
    pub fn acked(&mut self, id: EventId) -> bool {
        let c = &mut self.clients[id.client as usize];
        let first = c.acked.insert(id.seq);
        c.answered_after_expiry(id.seq, first);
        first
    }

    /// A dead-letter answer.
    pub fn dead_lettered(&mut self, id: EventId) {
        let c = &mut self.clients[id.client as usize];
        let first = c.dead.insert(id.seq);
        c.answered_after_expiry(id.seq, first);
    }

    /// Records whose delivery timeout passed: the client stopped retrying them.
    pub fn expired(&mut self, records: &[Record]) {
        for r in records {
            let c = &mut self.clients[r.id.client as usize];
            if c.expired.insert(r.id.seq) && !c.settled(r.id.seq) {
                c.expired_unsettled += 1;
            }
        }
    }

    /// Events the clients gave up on at their delivery timeout that were never answered.
    pub fn expired_unsettled(&self) -> u64 {
        self.clients.iter().map(|c| c.expired_unsettled).sum()
    }

    /// Events generated with no answer yet that the clients still wait for: an
    /// event given up on at its delivery timeout is not waited for.
    pub fn unsettled(&self) -> u64 {
        self.clients.iter().map(ClientLedger::uncertain).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64) -> Record {
        Record {
            id: EventId { client: 0, seq },
            key: 0,
            size: 10,
            event_time_ms: 0,
            schema_version: 1,
            malformed: false,
            born_us: 0,
        }
    }

    #[test]
    fn an_event_given_up_on_is_neither_uncertain_nor_waited_for() {
        let mut l = Ledger::new(1);
        l.generated(0, 3);
        l.attempted(&[record(0), record(1), record(2)]);
        assert_eq!(l.unsettled(), 3);
        l.expired(&[record(1), record(2)]);
        assert_eq!(l.unsettled(), 1, "only the event still waited for");
        assert_eq!(l.expired_unsettled(), 2);
        // A copy sent twice can still be acknowledged after the other was given up on.
        assert!(l.acked(EventId { client: 0, seq: 2 }));
        assert_eq!(l.expired_unsettled(), 1);
        assert_eq!(l.unsettled(), 1);
        // An acknowledged event given up on later (its duplicate) is not failed.
        assert!(l.acked(EventId { client: 0, seq: 0 }));
        l.expired(&[record(0)]);
        assert_eq!(l.expired_unsettled(), 1);
        assert_eq!(l.unsettled(), 0);
    }
}
