//! The producer's delivery timeout (Kafka's `delivery.timeout.ms`) and the
//! client's CPU.
//!
//! An event the client has held for `delivery_timeout_ms` without an
//! acknowledgement (counted from its birth, or for an event a restarted
//! client re-sends, from the restart) is given up on wherever it waits: queued, backing off
//! before a retry, or in flight (a late reply for it is then ignored, as
//! Kafka ignores the response to an expired batch). It leaves the buffer and
//! counts as a failed send; the ledger remembers it as given up, so the
//! checker counts it neither as lost (it was never acknowledged) nor as
//! uncertain, and a copy an earlier attempt left in the log is a retry's copy,
//! not a duplicate. The source's checkpoint moves past it, as past an
//! acknowledged event: the application was told of the failure.

use super::{source, Client};
use crate::record::Record;

/// When `r` entered the producer of an incarnation started at `started_ms`:
/// its birth, or the start for an event re-sent after a crash (a restarted
/// application's new `send()`; its latency still counts from its birth).
fn entered_ms(r: &Record, started_ms: u64) -> u64 {
    (r.born_us / 1000).max(started_ms)
}

impl Client {
    /// Charge the client's CPU for handling a message of `bytes`; returns when
    /// that work is done, which is when a message it builds can leave.
    pub(super) fn cpu(&self, now_us: u64, bytes: u64) -> u64 {
        let cost = self.sh.scenario.client.cpu_cost_us(bytes);
        self.sh.client_cpu[self.idx]
            .lock()
            .expect("client cpu lock")
            .run(now_us, cost)
    }

    /// Whether `r` has reached its delivery timeout.
    fn due(&self, r: &Record, now_ms: u64) -> bool {
        entered_ms(r, self.started_ms) + self.sh.scenario.client.delivery_timeout_ms <= now_ms
    }

    /// Give up on every held event whose delivery timeout has passed. A scan
    /// runs only once the earliest deadline it found last time comes round.
    pub(super) fn expire_deliveries(&mut self, now_ms: u64) {
        if now_ms < self.next_expiry_ms {
            return;
        }
        let mut gone = Vec::new();
        let mut held = 0u64;
        let mut oldest_ms = u64::MAX;
        let started_ms = self.started_ms;
        let entered = |r: &Record| entered_ms(r, started_ms);
        let note = |r: &Record, oldest: &mut u64| *oldest = (*oldest).min(entered(r));
        for p in 0..self.queues.len() {
            // New events queue in the order they entered the producer.
            while self.queues[p].pending.front().is_some_and(|r| self.due(r, now_ms)) {
                gone.push(self.queues[p].pending.pop_front().expect("front"));
                held += 1;
            }
            if let Some(r) = self.queues[p].pending.front() {
                note(r, &mut oldest_ms);
            }
            let mut retries = std::mem::take(&mut self.queues[p].retries);
            for retry in &mut retries {
                let before = retry.records.len();
                self.give_up_due(&mut retry.records, now_ms);
                held += (before - retry.records.len()) as u64;
                retry.records.iter().for_each(|r| note(r, &mut oldest_ms));
            }
            retries.retain(|r| !r.records.is_empty());
            self.queues[p].retries = retries;
        }
        self.buffered -= held as usize;
        let mut closed = Vec::new();
        let timeout = self.sh.scenario.client.delivery_timeout_ms;
        for (&req, f) in &mut self.inflight {
            for (k, pf) in f.parts.iter_mut().enumerate() {
                if pf.outstanding == 0 {
                    continue;
                }
                for (r, answered) in pf.records.iter().zip(pf.answered.iter_mut()) {
                    if *answered {
                        continue;
                    }
                    if entered(r) + timeout <= now_ms {
                        // Given up: its answer, if one comes, is ignored.
                        *answered = true;
                        pf.outstanding -= 1;
                        gone.push(*r);
                    } else {
                        note(r, &mut oldest_ms);
                    }
                }
                // Failed events wait for their part to close before a retry: those past their
                // deadline are given up on now, not when the part closes.
                let (due, keep): (Vec<Record>, Vec<Record>) =
                    pf.failed.iter().partition(|r| entered(r) + timeout <= now_ms);
                gone.extend(due);
                keep.iter().for_each(|r| note(r, &mut oldest_ms));
                pf.failed = keep;
                if pf.outstanding == 0 {
                    closed.push((req, k));
                }
            }
        }
        self.gave_up(&gone);
        // A part with nothing left to hear about frees its slot; its failed events are
        // retried or, past their deadline, given up on too.
        for (req, k) in closed {
            self.close_part(req, k, now_ms);
        }
        // An event that enters later is born later and expires later.
        self.next_expiry_ms = oldest_ms.min(now_ms).saturating_add(timeout);
    }

    /// Take out of `records` those past their delivery timeout, giving up on them.
    pub(super) fn give_up_due(&mut self, records: &mut Vec<Record>, now_ms: u64) {
        if !records.iter().any(|r| self.due(r, now_ms)) {
            return;
        }
        let (gone, keep): (Vec<Record>, Vec<Record>) = records.iter().partition(|r| self.due(r, now_ms));
        *records = keep;
        self.gave_up(&gone);
    }

    /// The events of `gone` failed at their delivery timeout: free their buffer space, count
    /// them, and tell the ledger and the source's checkpoint.
    fn gave_up(&mut self, gone: &[Record]) {
        if gone.is_empty() {
            return;
        }
        let bytes: u64 = gone.iter().map(|r| u64::from(r.size)).sum();
        self.buffer_bytes = self.buffer_bytes.saturating_sub(bytes);
        for r in gone {
            self.unsettled.remove(r.id.seq);
        }
        self.sh.ledger.lock().expect("ledger lock").expired(gone);
        let mut m = self.sh.metrics.lock().expect("metrics lock");
        m.producers.expired_sends += gone.len() as u64;
        m.producers.expired_bytes += bytes;
        drop(m);
        if self.journal {
            let mut src = source(&self.sh, self.idx);
            let src = src.as_mut().expect("source");
            for r in gone {
                src.settled(r.id.seq);
            }
        }
    }
}
