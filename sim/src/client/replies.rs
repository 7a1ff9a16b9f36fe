//! What comes back: the gateways' answers per event, backpressure, and
//! requests that time out; what failed is retried with exponential backoff.

use super::{source, Client, Retry};
use crate::ids::PartitionId;
use crate::msg::{EventResult, PartReply, Record};
use rand::Rng;

impl Client {
    /// The wait before retry `attempt`: exponential, capped, jittered.
    pub(super) fn backoff_ms(&mut self, attempt: u32) -> u64 {
        let cfg = &self.sh.scenario.client;
        let exp = cfg
            .retry_backoff_ms
            .saturating_mul(1u64 << attempt.min(20).saturating_sub(1));
        let capped = exp.min(cfg.retry_backoff_max_ms);
        // Full jitter on the upper half keeps retry storms from synchronising.
        capped / 2 + self.rng.gen_range(0..=capped / 2)
    }

    /// Retry after the backoff alone.
    pub(super) fn retry(&mut self, p: PartitionId, records: Vec<Record>, attempt: u32, seq: u64, now_ms: u64) {
        self.retry_after(p, records, attempt, seq, now_ms, 0);
    }

    /// Retry after the backoff, and at least `min_wait_ms` (a rate limit's Retry-After);
    /// what reached its delivery timeout is given up on instead.
    pub(super) fn retry_after(
        &mut self,
        p: PartitionId,
        mut records: Vec<Record>,
        attempt: u32,
        seq: u64,
        now_ms: u64,
        min_wait_ms: u64,
    ) {
        self.give_up_due(&mut records, now_ms);
        if records.is_empty() {
            return;
        }
        let ready_ms = now_ms + self.backoff_ms(attempt).max(min_wait_ms);
        self.buffered += records.len();
        let retry = Retry {
            ready_ms,
            records,
            attempt: attempt + 1,
            seq,
        };
        self.requeue(p, retry, false);
    }

    /// A partition batch of a request is settled: free its slot and retry what failed.
    pub(super) fn close_part(&mut self, req: u64, part: usize, now_ms: u64) {
        let f = self.inflight.get_mut(&req).expect("request in flight");
        let pf = &mut f.parts[part];
        let (p, attempt, seq, mut failed) = (pf.partition, pf.attempt, pf.order.seq, std::mem::take(&mut pf.failed));
        let wait_ms = match (&self.sh.scenario.gateway.rate_limit, pf.rate_limited) {
            (Some(l), true) => l.retry_after_ms(),
            _ => 0,
        };
        failed.sort_by_key(|r| r.id.seq);
        f.open_parts -= 1;
        if f.open_parts == 0 {
            self.inflight.remove(&req);
        }
        self.landed(p, seq);
        self.retry_after(p, failed, attempt, seq, now_ms, wait_ms);
    }

    /// Settle what the gateways answered: acknowledgements enter the ledger and the
    /// latency histograms, failures wait to be retried, settled bytes leave the buffer.
    pub(super) fn on_reply(&mut self, parts: Vec<PartReply>, now_us: u64) {
        let now_ms = now_us / 1000;
        for reply in parts {
            // A reply to a request already given up on is ignored, as a real client's would be.
            let Some(f) = self.inflight.get_mut(&reply.req) else {
                continue;
            };
            let Some(pf) = f.parts.get_mut(reply.part as usize) else {
                continue;
            };
            if pf.outstanding == 0 {
                continue;
            }
            let mut ledger = self.sh.ledger.lock().expect("ledger lock");
            let mut metrics = self.sh.metrics.lock().expect("metrics lock");
            let mut settled = Vec::new();
            let mut freed = 0;
            for (start, n, res) in reply.runs {
                for i in start as usize..(start + n) as usize {
                    let Some(answered) = pf.answered.get_mut(i) else { break };
                    if std::mem::replace(answered, true) {
                        continue;
                    }
                    pf.outstanding -= 1;
                    let id = pf.records[i].id;
                    let done = !matches!(
                        res,
                        EventResult::Failed | EventResult::RateLimited | EventResult::OutOfOrderSequence
                    );
                    if done {
                        freed += u64::from(pf.records[i].size);
                    }
                    if self.journal && done {
                        settled.push(id.seq);
                    }
                    match res {
                        EventResult::Acked => {
                            // A re-sent copy of an event acknowledged before a crash is not a new acknowledgement.
                            let unsettled = self.unsettled.remove(id.seq);
                            if ledger.acked(id) && unsettled {
                                let lat = now_us.saturating_sub(pf.records[i].born_us).max(1);
                                metrics.ack.saturating_record(lat);
                                let bytes = u64::from(pf.records[i].size);
                                let p = &mut metrics.producers;
                                p.last_ack_us = p.last_ack_us.max(now_us);
                                if now_ms <= self.in_time_ms {
                                    p.acked_in_time.0 += 1;
                                    p.acked_in_time.1 += bytes;
                                }
                                let b = metrics.latency_bucket(now_ms);
                                b.acked += 1;
                                b.acked_bytes += bytes;
                                b.ack.record(lat);
                            }
                        }
                        EventResult::DeadLettered => {
                            ledger.dead_lettered(id);
                            self.unsettled.remove(id.seq);
                        }
                        EventResult::Failed => pf.failed.push(pf.records[i]),
                        EventResult::OutOfOrderSequence => {
                            // Never taken: not an attempt, and re-sent once the gap before it fills.
                            ledger.unattempted(&pf.records[i..=i]);
                            pf.failed.push(pf.records[i]);
                        }
                        EventResult::RateLimited => {
                            // Refused before the gateway took it: not an attempt for the
                            // ledger (nothing was written), and retried with the backoff
                            // growing as for any retry, at least the Retry-After.
                            ledger.rate_limited(&pf.records[i..=i]);
                            pf.rate_limited = true;
                            pf.failed.push(pf.records[i]);
                        }
                    }
                }
            }
            drop(metrics);
            drop(ledger);
            // Settled events leave the producer's buffer; failed ones stay in it to be retried.
            self.buffer_bytes = self.buffer_bytes.saturating_sub(freed);
            if !settled.is_empty() {
                let mut src = source(&self.sh, self.idx);
                let src = src.as_mut().expect("source");
                for seq in settled {
                    src.settled(seq);
                }
            }
            if pf.outstanding == 0 {
                self.close_part(reply.req, reply.part as usize, now_ms);
            }
        }
    }

    /// A gateway refused a whole request before taking any of it: its batches go back
    /// to the front of their queues until `ready_ms`.
    pub(super) fn on_backpressure(&mut self, req: u64, ready_ms: u64) {
        let Some(f) = self.inflight.remove(&req) else { return };
        let sh = self.sh.clone();
        let mut ledger = sh.ledger.lock().expect("ledger lock");
        // None of the request was taken: each batch goes back to the front of its partition's
        // queue, but for what the delivery timeout gave up on meanwhile (a part it closed has
        // freed its slot already, an event it gave up on is settled).
        for pf in f.parts.into_iter().filter(|pf| pf.outstanding > 0) {
            let records: Vec<Record> = pf
                .records
                .iter()
                .zip(&pf.answered)
                .filter(|(_, answered)| !**answered)
                .map(|(r, _)| *r)
                .collect();
            ledger.unattempted(&records);
            self.buffered += records.len();
            self.landed(pf.partition, pf.order.seq);
            let retry = Retry {
                ready_ms,
                records,
                attempt: pf.attempt,
                seq: pf.order.seq,
            };
            self.requeue(pf.partition, retry, true);
        }
    }

    /// Give up on requests past `request.timeout.ms`: what they carried is retried
    /// (and may land twice, which idempotence de-duplicates).
    pub(super) fn expire(&mut self, now_ms: u64) {
        let timeout = self.sh.scenario.client.request_timeout_ms;
        let expired: Vec<u64> = self
            .inflight
            .iter()
            .filter(|(_, f)| now_ms >= f.sent_ms + timeout)
            .map(|(r, _)| *r)
            .collect();
        for req in expired {
            let f = self.inflight.remove(&req).expect("present");
            for pf in f.parts.into_iter().filter(|pf| pf.outstanding > 0) {
                let unanswered: Vec<Record> = pf
                    .records
                    .iter()
                    .zip(&pf.answered)
                    .filter(|(_, &a)| !a)
                    .map(|(r, _)| *r)
                    .collect();
                self.sh.ledger.lock().expect("ledger lock").timed_out(&unanswered);
                self.landed(pf.partition, pf.order.seq);
                let mut again = pf.failed;
                again.extend(unanswered);
                again.sort_by_key(|r| r.id.seq);
                self.retry(pf.partition, again, pf.attempt, pf.order.seq, now_ms);
            }
        }
    }
}
