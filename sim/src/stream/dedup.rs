//! De-duplication by event id with a processing-time TTL.

use crate::event_sets::SeqBitmap;
use crate::record::EventId;
use std::collections::VecDeque;
use std::sync::Arc;

/// Generations a TTL is cut into: an id outlives its TTL by at most a
/// generation's span, a 32nd of the TTL (3.75 s of the default 120 s).
const GENERATIONS_PER_TTL: u64 = 32;

/// Ids seen within the TTL. An id is remembered from the processing time
/// it was first accepted at (a dropped duplicate does not refresh it, like
/// Flink's state TTL on create-and-write), for at least the TTL.
///
/// Expiry is by generation, as a Kafka Streams window store drops whole
/// segments: acceptances are grouped into generations a 32nd of the TTL
/// wide, and a generation is forgotten once its newest id is a TTL old, so
/// an id lives between its TTL and its TTL plus one generation's span. A
/// queue of ids in acceptance order would answer to the millisecond but
/// costs 16 bytes an id (67 MB at a 35,000 events/s peak with the default
/// 120 s TTL); a generation is a bitmap per client over its sequence
/// numbers, about 3 bytes an id at 24 partitions, and dropping one drops
/// its vectors. Processing time only moves forward within a task; were it
/// to step back, the id joins the newest generation and is only forgotten
/// late.
///
/// The generations are the only copy of the ids. A task reads one
/// partition in offset order, and a client's events reach it in sequence
/// order but for retries and duplicates, so an id above every number its
/// client was accepted with is new without a lookup; only the others are
/// looked up in the generations, newest first. A separate membership set,
/// the union of the generations, doubled the memory and cost a persistent
/// update per id. The generations are a short queue of shared ones, so a
/// checkpoint's snapshot stays cheap, and no hash order can leak into what
/// is emitted.
#[derive(Clone, Debug)]
pub(super) struct Dedup {
    ttl_ms: Option<u64>,
    /// Oldest first; disjoint (an id is added only when it is not already remembered).
    generations: VecDeque<Arc<Generation>>,
    /// By client index: one past the highest sequence number ever accepted. An
    /// expired generation leaves it where it was: it only has to bound what is remembered.
    above: Vec<u64>,
    /// Ids remembered, over all generations.
    len: usize,
}

/// Ids accepted over one span of processing time. Only the newest
/// generation takes ids, so older ones sit behind an `Arc` a checkpoint's
/// snapshot shares, and the newest is plain words: cheaper to set a bit in
/// than a persistent vector, and small enough (a few KiB a client) that the
/// copy a snapshot forces once per commit costs less than the persistent
/// vector's copy-on-write of every chunk it touches.
#[derive(Clone, Debug, Default)]
struct Generation {
    /// Processing time of its first acceptance, ms: it takes acceptances
    /// until one generation's span after this.
    first_ms: u64,
    /// Processing time of its newest acceptance, ms: it is forgotten a TTL after this.
    last_ms: u64,
    /// Ids it holds.
    len: usize,
    /// By client index: a bitmap over the client's sequence numbers.
    clients: Vec<SeqBitmap>,
    /// Ids too far from their client's bitmap to widen it (a retry of an old event).
    outliers: Vec<EventId>,
}

/// The widest a generation's bitmap for one client may grow, in words (256 Ki
/// sequence numbers, 32 KiB: a minute of one client at a billion-event day's
/// peak); a number further off is kept as an outlier. The newest generation
/// is copied once per commit while a snapshot shares it, so its width is
/// what a straggler could make every commit copy.
const MAX_GENERATION_WORDS: u64 = 1 << 12;

impl Generation {
    fn insert(&mut self, id: EventId) {
        let c = id.client as usize;
        if self.clients.len() <= c {
            self.clients.resize_with(c + 1, SeqBitmap::default);
        }
        if !self.clients[c].insert_within(id.seq, MAX_GENERATION_WORDS) {
            self.outliers.push(id);
        }
    }

    fn contains(&self, id: &EventId) -> bool {
        let in_bits = self.clients.get(id.client as usize).is_some_and(|b| b.contains(id.seq));
        in_bits || (!self.outliers.is_empty() && self.outliers.contains(id))
    }

    /// It takes no more ids: its vectors give back what growing them left spare,
    /// for the TTL it is still held.
    fn seal(&mut self) {
        self.clients.iter_mut().for_each(SeqBitmap::shrink_to_fit);
        self.outliers.shrink_to_fit();
    }
}

impl Dedup {
    /// Empty; `None` turns de-duplication off (nothing is remembered).
    pub(super) fn new(ttl_ms: Option<u64>) -> Self {
        Dedup {
            ttl_ms,
            generations: VecDeque::new(),
            above: Vec::new(),
            len: 0,
        }
    }

    /// Remembered ids.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Forgets every generation whose newest id was accepted at or before `now - ttl`.
    pub(super) fn expire(&mut self, now_ms: u64) {
        let Some(ttl) = self.ttl_ms else { return };
        while let Some(g) = self.generations.front() {
            if g.last_ms + ttl > now_ms {
                break;
            }
            self.len -= g.len;
            self.generations.pop_front();
        }
    }

    /// Whether `id` is remembered at `now_ms` (after the expiry due by then).
    #[cfg(test)]
    pub(super) fn is_duplicate(&self, id: &EventId, now_ms: u64) -> bool {
        let Some(ttl) = self.ttl_ms else { return false };
        self.generations
            .iter()
            .any(|g| g.last_ms + ttl > now_ms && g.contains(id))
    }

    /// Whether a generation holds `id`.
    fn remembered(&self, id: &EventId) -> bool {
        let above = self.above.get(id.client as usize).copied().unwrap_or(0);
        id.seq < above && self.generations.iter().rev().any(|g| g.contains(id))
    }

    /// Accepts `id` at `now_ms` unless it is remembered; returns whether it
    /// was accepted. A dropped duplicate keeps its first time: dropping it
    /// must not refresh the TTL.
    pub(super) fn accept(&mut self, id: EventId, now_ms: u64) -> bool {
        let Some(ttl) = self.ttl_ms else { return true };
        self.expire(now_ms);
        if self.remembered(&id) {
            return false;
        }
        let c = id.client as usize;
        if self.above.len() <= c {
            self.above.resize(c + 1, 0);
        }
        self.above[c] = self.above[c].max(id.seq.saturating_add(1));
        let span = (ttl / GENERATIONS_PER_TTL).max(1);
        if self.generations.back().is_none_or(|g| now_ms >= g.first_ms + span) {
            if let Some(sealed) = self.generations.back_mut() {
                Arc::make_mut(sealed).seal();
            }
            self.generations.push_back(Arc::new(Generation {
                first_ms: now_ms,
                last_ms: now_ms,
                ..Generation::default()
            }));
        }
        let g = Arc::make_mut(self.generations.back_mut().expect("a generation was just ensured"));
        g.insert(id);
        g.last_ms = g.last_ms.max(now_ms);
        g.len += 1;
        self.len += 1;
        true
    }

    /// Forgets everything (end of input).
    pub(super) fn clear(&mut self) {
        self.generations.clear();
        self.above.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(seq: u64) -> EventId {
        EventId { client: 0, seq }
    }

    #[test]
    fn an_id_is_a_duplicate_for_its_ttl_and_forgotten_after() {
        let mut d = Dedup::new(Some(100));
        d.accept(id(1), 0);
        d.accept(id(2), 50);
        assert!(d.is_duplicate(&id(1), 99) && !d.is_duplicate(&id(1), 100));
        d.expire(100);
        assert_eq!(d.len(), 1, "only id 1 expired");
        assert!(d.is_duplicate(&id(2), 149));
        d.expire(150);
        assert_eq!(d.len(), 0);
    }

    #[test]
    fn an_id_remembered_again_lives_from_its_newer_time() {
        let mut d = Dedup::new(Some(100));
        d.accept(id(1), 0);
        // Past its TTL but not yet expired lazily: accepted again at 120.
        assert!(!d.is_duplicate(&id(1), 120));
        d.accept(id(1), 120);
        // The queue's stale entry for time 0 must not forget the newer one.
        d.expire(150);
        assert!(d.is_duplicate(&id(1), 150));
        assert_eq!(d.len(), 1);
        d.expire(220);
        assert_eq!(d.len(), 0);
        assert!(d.generations.is_empty(), "both generations are gone");
    }

    #[test]
    fn accept_drops_a_duplicate_without_refreshing_its_ttl() {
        let mut d = Dedup::new(Some(100));
        assert!(d.accept(id(1), 0));
        assert!(!d.accept(id(1), 60), "a duplicate within the TTL");
        // Had the duplicate refreshed the id, it would still be one at 120.
        assert!(d.accept(id(1), 120), "past the first acceptance's TTL");
        assert!(!d.accept(id(1), 200));
        d.expire(220);
        assert_eq!(d.len(), 0);
    }

    #[test]
    fn an_id_outlives_its_ttl_by_at_most_its_generations_span() {
        // TTL 3,200 ms: generations 100 ms wide.
        let mut d = Dedup::new(Some(3_200));
        assert!(d.accept(id(1), 0));
        assert!(d.accept(id(2), 99), "same generation as id 1");
        assert!(d.accept(id(3), 100), "a generation of its own");
        assert_eq!(d.generations.len(), 2);
        assert!(
            !d.accept(id(1), 3_200),
            "its generation's newest id is younger than the TTL"
        );
        assert!(
            d.accept(id(1), 3_299),
            "forgotten with its generation, within the TTL plus 100 ms"
        );
        assert!(!d.is_duplicate(&id(2), 3_299));
        assert!(d.is_duplicate(&id(3), 3_299));
        assert_eq!(d.len(), 2, "id 3 and id 1 again");
    }

    /// Against an exact per-id model, over a random stream with retries and
    /// stragglers: an id is never forgotten before its TTL, and always by
    /// its TTL plus one generation's span.
    #[test]
    fn forgets_within_one_generation_of_the_exact_ttl() {
        let ttl = 6_400;
        let span = ttl / GENERATIONS_PER_TTL;
        let mut d = Dedup::new(Some(ttl));
        let mut first_seen: std::collections::BTreeMap<u64, u64> = Default::default();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut now = 0;
        let (mut again, mut dropped) = (0, 0);
        for step in 0..60_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            now += x % 3;
            let seq = match x % 10 {
                0 => step.saturating_sub(x % 12_000), // a retry of something recent or long expired
                _ => step,
            };
            let exact_live = first_seen.get(&seq).is_some_and(|&a| a + ttl > now);
            let exact_gone = first_seen.get(&seq).is_none_or(|&a| a + ttl + span <= now);
            let accepted = d.accept(id(seq), now);
            assert!(!(accepted && exact_live), "seq {seq} forgotten before its TTL at {now}");
            assert!(
                accepted || !exact_gone,
                "seq {seq} remembered past TTL plus span at {now}"
            );
            if accepted {
                again += u64::from(first_seen.insert(seq, now).is_some());
            } else {
                dropped += 1;
            }
        }
        assert!(
            dropped > 1_000 && again > 1_000,
            "the stream must drop duplicates and accept expired ids again: {dropped} {again}"
        );
        let live = first_seen.values().filter(|&&a| a + ttl > now).count();
        assert!(d.len() >= live && d.len() <= live + 1_000, "{} vs {live}", d.len());
    }

    /// Three clients whose events arrive interleaved and, within a client,
    /// out of order in runs (two gateways' batches of one partition), with
    /// duplicates: every answer agrees with an exact per-id model, whether it
    /// came from the fast path (an id above all its client's accepted ones)
    /// or a lookup in the generations.
    #[test]
    fn interleaved_clients_agree_with_the_exact_model() {
        let ttl = 3_200;
        let span = ttl / GENERATIONS_PER_TTL;
        let mut d = Dedup::new(Some(ttl));
        let mut first_seen: std::collections::BTreeMap<(u32, u64), u64> = Default::default();
        let mut next = [0u64; 3];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let (mut now, mut fresh_below, mut dropped) = (0, 0, 0);
        for _ in 0..90_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            now += x % 2;
            let client = (x >> 8) % 3;
            let c = client as usize;
            let seq = match (x >> 16) % 16 {
                // A run of the other gateway's batch: numbers its client has
                // not sent yet, a little ahead, so later ones arrive below them.
                0..=2 => {
                    let s = next[c] + 1 + (x >> 24) % 40;
                    next[c] = next[c].max(s + 1);
                    s
                }
                3 => next[c].saturating_sub(1 + (x >> 24) % 2_000), // a duplicate or a straggler
                _ => {
                    next[c] += 1;
                    next[c] - 1
                }
            };
            let key = (client as u32, seq);
            let exact_live = first_seen.get(&key).is_some_and(|&a| a + ttl > now);
            let exact_gone = first_seen.get(&key).is_none_or(|&a| a + ttl + span <= now);
            let below = d.above.get(c).is_some_and(|&a| seq < a);
            let accepted = d.accept(
                EventId {
                    client: client as u32,
                    seq,
                },
                now,
            );
            assert!(!(accepted && exact_live), "{key:?} forgotten before its TTL at {now}");
            assert!(
                accepted || !exact_gone,
                "{key:?} remembered past TTL plus span at {now}"
            );
            if accepted {
                fresh_below += u64::from(below);
                first_seen.insert(key, now);
            } else {
                dropped += 1;
            }
        }
        assert!(
            dropped > 1_000 && fresh_below > 1_000,
            "the stream must drop duplicates and accept new ids below their client's highest: {dropped} {fresh_below}"
        );
    }

    /// A retry of an event long before the generation's other ids, or far
    /// after, is kept beside its bitmap, and forgotten with it all the same.
    #[test]
    fn a_generation_keeps_far_ids_beside_its_bitmap() {
        let mut d = Dedup::new(Some(3_200));
        let far = [id(1 << 30), id(5), id(1 << 31)];
        assert!(d.accept(id(1 << 30), 0));
        for (i, x) in far.iter().enumerate().skip(1) {
            assert!(d.accept(*x, i as u64));
        }
        let g = d.generations.back().expect("one generation");
        assert_eq!((d.generations.len(), g.outliers.len()), (1, 2), "{g:?}");
        assert!(far.iter().all(|x| d.is_duplicate(x, 50) && !d.accept(*x, 50)));
        d.expire(3_202);
        assert_eq!(d.len(), 0);
        assert!(far.iter().all(|x| d.accept(*x, 3_203)), "all three forgotten");
    }

    #[test]
    fn no_ttl_remembers_nothing() {
        let mut d = Dedup::new(None);
        d.accept(id(1), 0);
        assert!(!d.is_duplicate(&id(1), 1));
        assert_eq!(d.len(), 0);
    }
}
