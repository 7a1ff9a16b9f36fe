//! What a client keeps across a crash: its source and its checkpoint.
//!
//! A producer application that can restart without losing data reads a
//! replayable source (a file a log shipper tails, an outbox table) and
//! keeps a durable checkpoint of how far the ingestion tier acknowledged
//! it. Filebeat's registry is the model: the checkpoint is the end of the
//! acknowledged prefix, and a restarted client re-reads the source from
//! there, re-sending with the same event ids everything after it, including
//! events acknowledged out of order above the first unacknowledged one.
//! Everything else (batches, requests in flight, retries and their
//! backoff) is in memory and lost.
//!
//! The source itself keeps producing while the client is down; the client
//! reads what arose meanwhile when it is back.

use crate::record::Record;
use std::collections::VecDeque;
use streamsim_workloads::ClientStream;

/// A client's durable side: the workload stream, how far it was read, and
/// (when the client can crash) the records after the checkpoint.
pub struct ClientSource {
    /// The replayable input; its position survives the client.
    pub stream: ClientStream,
    /// End of the interval read from the stream so far, virtual ms.
    pub drawn_to: u64,
    /// Sequence of the next event read from the stream.
    pub next_seq: u64,
    /// Records from the checkpoint on; `None` when the scenario never
    /// crashes this client, so a run without client crashes keeps nothing per event.
    journal: Option<Journal>,
}

/// The source's records after the checkpoint, with whether each was settled
/// (acknowledged or dead-lettered); the checkpoint moves past a settled prefix.
struct Journal {
    /// Sequence of the first entry: the checkpoint.
    base: u64,
    entries: VecDeque<(Record, bool)>,
}

impl ClientSource {
    /// A source read from `drawn_to` on; `journal` keeps what a restart replays.
    pub fn new(stream: ClientStream, drawn_to: u64, journal: bool) -> Self {
        ClientSource {
            stream,
            drawn_to,
            next_seq: 0,
            journal: journal.then(|| Journal {
                base: 0,
                entries: VecDeque::new(),
            }),
        }
    }

    /// Whether the checkpoint is kept (the client can crash).
    pub fn keeps_journal(&self) -> bool {
        self.journal.is_some()
    }

    /// A record was read from the stream (in sequence order).
    pub fn read(&mut self, r: &Record) {
        if let Some(j) = &mut self.journal {
            debug_assert_eq!(j.base + j.entries.len() as u64, r.id.seq);
            j.entries.push_back((*r, false));
        }
    }

    /// The client learned that `seq` was acknowledged or dead-lettered.
    pub fn settled(&mut self, seq: u64) {
        let Some(j) = &mut self.journal else { return };
        if let Some(e) = seq.checked_sub(j.base).and_then(|i| j.entries.get_mut(i as usize)) {
            e.1 = true;
        }
        while j.entries.front().is_some_and(|e| e.1) {
            j.entries.pop_front();
            j.base += 1;
        }
    }

    /// The checkpoint: every sequence below it was settled.
    pub fn checkpoint(&self) -> u64 {
        self.journal.as_ref().map_or(0, |j| j.base)
    }

    /// What a restarted client re-sends: every record from the checkpoint on, in sequence order.
    pub fn replay(&self) -> Vec<Record> {
        self.journal
            .as_ref()
            .map_or_else(Vec::new, |j| j.entries.iter().map(|e| e.0).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::EventId;

    fn source(journal: bool) -> ClientSource {
        let spec: streamsim_workloads::WorkloadSpec =
            toml::from_str("rate = { kind = \"constant\", events_per_s = 10 }").expect("spec");
        let w = streamsim_workloads::Workload::new(&spec, std::path::Path::new(".")).expect("workload");
        ClientSource::new(w.client_stream(1, 0, 1), 0, journal)
    }

    fn rec(seq: u64) -> Record {
        Record {
            id: EventId { client: 0, seq },
            key: seq,
            size: 10,
            event_time_ms: 0,
            schema_version: 1,
            malformed: false,
            born_us: 0,
        }
    }

    #[test]
    fn the_checkpoint_is_the_settled_prefix_and_a_restart_replays_from_it() {
        let mut s = source(true);
        for q in 0..5 {
            s.read(&rec(q));
        }
        s.settled(1);
        s.settled(3);
        assert_eq!(s.checkpoint(), 0, "0 is not settled yet");
        s.settled(0);
        assert_eq!(s.checkpoint(), 2);
        // 3 was acknowledged out of order: it is re-sent all the same, as a registry offset would.
        let seqs: Vec<u64> = s.replay().iter().map(|r| r.id.seq).collect();
        assert_eq!(seqs, vec![2, 3, 4]);
        s.settled(2);
        s.settled(4);
        assert_eq!((s.checkpoint(), s.replay().len()), (5, 0));
        // An answer for an event below the checkpoint (a re-sent copy) changes nothing.
        s.settled(1);
        assert_eq!(s.checkpoint(), 5);
    }

    #[test]
    fn without_a_journal_nothing_is_kept() {
        let mut s = source(false);
        s.read(&rec(0));
        s.settled(0);
        assert!(!s.keeps_journal());
        assert!(s.replay().is_empty());
    }
}
