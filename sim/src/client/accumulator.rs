//! The producer's accumulator: what the application offers enters the buffer
//! (blocking when `buffer.memory` is full), waits per partition, and leaves
//! as batches, retries first, so each key keeps its order.

use super::source::ClientSource;
use super::Client;
use crate::gateway::partition_of;
use crate::ids::PartitionId;
use crate::msg::Record;
use streamsim_workloads::EventDraw;

impl Client {
    /// The application sends what its stream offers up to `upto`, as far as the producer's
    /// buffer lets it. A full buffer blocks the sends (the stream falls behind schedule and the
    /// events are born when they get in); a send blocked past `max_block_ms` fails, as Kafka's
    /// `send()` throws, so the client holds at most `buffer_memory_bytes` and lags its schedule by
    /// at most `max_block_ms`, however far the offered load exceeds what the cluster takes.
    pub(super) fn offer(&mut self, src: &mut ClientSource, upto: u64, now_us: u64, draws: &mut Vec<EventDraw>) {
        let cfg = &self.sh.scenario.client;
        let (limit, max_block) = (cfg.buffer_memory_bytes, cfg.max_block_ms);
        let now_ms = now_us / 1000;
        if self.blocked_since_ms.is_none() && self.buffer_bytes < limit {
            draws.clear();
            src.stream.draw(src.drawn_to, upto, draws);
            src.drawn_to = upto;
            self.generate(draws, now_us, src, true);
            return;
        }
        let mut timed = Vec::new();
        let give_up_before = now_ms.saturating_sub(max_block).min(upto);
        if give_up_before > src.drawn_to {
            src.stream.draw_timed(src.drawn_to, give_up_before, &mut timed);
            src.drawn_to = give_up_before;
            let mut m = self.sh.metrics.lock().expect("metrics lock");
            for d in &timed {
                m.bucket(d.t_ms).offered += 1;
                m.producers.failed_sends += 1;
                m.producers.failed_bytes += u64::from(d.event.size_bytes);
            }
        }
        // Behind schedule: take the backlog a millisecond of it at a time while there is room.
        while src.drawn_to < upto && self.buffer_bytes < limit {
            timed.clear();
            src.stream.draw_timed(src.drawn_to, src.drawn_to + 1, &mut timed);
            src.drawn_to += 1;
            if let Some(d) = timed.first() {
                self.sh.metrics.lock().expect("metrics lock").bucket(d.t_ms).offered += timed.len() as u64;
            }
            draws.clear();
            draws.extend(timed.iter().map(|d| d.event));
            self.generate(draws, now_us, src, false);
        }
        if src.drawn_to < upto {
            self.blocked_since_ms.get_or_insert(now_ms);
        } else if let Some(t) = self.blocked_since_ms.take() {
            self.sh.metrics.lock().expect("metrics lock").producers.blocked_ms += now_ms - t;
        }
    }

    /// Takes `draws` into the producer; `on_time` when they arrive now (counted as offered in
    /// this bucket too) rather than late from a blocked backlog (counted at their arrival).
    pub(super) fn generate(&mut self, draws: &[EventDraw], now_us: u64, src: &mut ClientSource, on_time: bool) {
        let now_ms = now_us / 1000;
        let first = src.next_seq;
        let partitions = self.queues.len();
        for d in draws {
            let r = Record {
                id: crate::msg::EventId {
                    client: self.idx as u32,
                    seq: src.next_seq,
                },
                key: d.key,
                size: d.size_bytes,
                event_time_ms: now_ms.saturating_sub(d.event_time_lag_ms),
                schema_version: d.schema_version,
                malformed: d.malformed,
                born_us: now_us,
            };
            self.sh.workload_hash[self.idx].record(&[
                r.id.client as u64,
                r.id.seq,
                r.key,
                r.size as u64,
                d.event_time_lag_ms,
            ]);
            src.next_seq += 1;
            src.read(&r);
            self.unsettled.insert(r.id.seq);
            self.buffer_bytes += u64::from(r.size);
            // The producer's partitioner: the gateway routes by the same hash.
            let p = partition_of(self.routing_key(&r), partitions);
            let q = &mut self.queues[p];
            q.pending.push_back(r);
            self.buffered += 1;
            if d.duplicate_send {
                // A client bug or a retry storm sends the same event twice.
                q.pending.push_back(r);
                self.buffered += 1;
                self.buffer_bytes += u64::from(r.size);
            }
        }
        let n = src.next_seq - first;
        if n > 0 {
            self.sh
                .ledger
                .lock()
                .expect("ledger lock")
                .generated(self.idx, src.next_seq);
            let bytes: u64 = draws.iter().map(|d| u64::from(d.size_bytes)).sum();
            let mut m = self.sh.metrics.lock().expect("metrics lock");
            let b = m.bucket(now_ms);
            b.sent += n;
            b.sent_bytes += bytes;
            if on_time {
                b.offered += n;
            }
            m.producers.peak_buffer_bytes = m.producers.peak_buffer_bytes.max(self.buffer_bytes);
        }
    }

    /// A restarted client re-sends what its source holds after the checkpoint, with the same
    /// ids and birth times, in sequence order (so each key's events keep their order).
    pub(super) fn resend(&mut self, records: Vec<Record>) {
        let partitions = self.queues.len();
        for r in records {
            self.unsettled.insert(r.id.seq);
            self.buffer_bytes += u64::from(r.size);
            let p = partition_of(self.routing_key(&r), partitions);
            self.queues[p].pending.push_back(r);
            self.buffered += 1;
        }
    }

    /// The next linger tick that has work: the regular next one while anything is buffered;
    /// otherwise the first that will draw the stream's next event, reach the workload's end, or
    /// time out a request. A tick between them would draw nothing and send nothing; skipping it
    /// keeps a quiet client (a few events a second, a tick every 5 ms) from waking for nothing.
    pub(super) fn next_useful_tick(
        &self,
        now_ms: u64,
        grid: &impl Fn(u64) -> u64,
        stream: &streamsim_workloads::ClientStream,
        drawn_to: u64,
        workload_end_ms: u64,
    ) -> u64 {
        let regular = grid(now_ms + 1);
        if self.buffered > 0 {
            return regular;
        }
        let mut t = u64::MAX;
        if drawn_to < workload_end_ms {
            t = grid(workload_end_ms);
            // An event at millisecond m is drawn by the first tick after m.
            if let Some(m) = stream.next_arrival_ms() {
                t = t.min(grid(m + 1));
            }
        }
        let timeout = self.sh.scenario.client.request_timeout_ms;
        if let Some(sent) = self.inflight.values().map(|f| f.sent_ms).min() {
            t = t.min(grid(sent + timeout));
            // An event in flight may reach its delivery timeout before its request times out.
            t = t.min(grid(self.next_expiry_ms));
        }
        if t == u64::MAX {
            // Nothing left to do: wake now and then, as an idle client would.
            t = grid(now_ms + 60_000);
        }
        t.max(regular)
    }

    /// Take the next batch of partition `p`, if its slot is free and something is due:
    /// a retry whose backoff is over first, new events only once no retry waits (per-key order).
    /// With idempotence on, a retry also waits while a batch numbered before it is in flight
    /// to another gateway than the one it would follow them to, so it is not refused again;
    /// behind batches in flight to that gateway it goes at once, in order, as Kafka's producer
    /// re-sends its in-flight batches pipelined in sequence after a failure.
    pub(super) fn take_batch(
        &mut self,
        p: PartitionId,
        now_ms: u64,
        full_only: bool,
    ) -> Option<(Vec<Record>, u32, u64)> {
        let cfg = &self.sh.scenario.client;
        let sequenced = self.sequenced;
        let q = &mut self.queues[p];
        if q.in_flight >= cfg.max_in_flight {
            return None;
        }
        if let Some(r) = q.retries.front().filter(|r| r.ready_ms <= now_ms) {
            if sequenced && q.in_flight_seqs.range(..r.seq).any(|(_, &g)| g != q.pinned) {
                return None;
            }
            let r = q.retries.pop_front().expect("front");
            self.buffered -= r.records.len();
            return Some((r.records, r.attempt, r.seq));
        }
        if q.pending.is_empty() || !q.retries.is_empty() || (full_only && q.pending.len() < cfg.max_batch_events) {
            return None;
        }
        let n = q.pending.len().min(cfg.max_batch_events);
        self.buffered -= n;
        q.next_seq += 1;
        Some((q.pending.drain(..n).collect(), 1, q.next_seq - 1))
    }
}
