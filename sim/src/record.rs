//! Events and record batches: what clients generate, the log stores and
//! the processor consumes. A leaf, so every layer above can name an event
//! without depending on the protocol messages that carry it.

use std::sync::Arc;

/// A client-assigned event id: the client and its own sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    /// Client index.
    pub client: u32,
    /// Client-local sequence, dense from 0.
    pub seq: u64,
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "c{}#{}", self.client, self.seq)
    }
}

/// An event as it travels and as it is stored in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Unique id (the same on every retry).
    pub id: EventId,
    /// Partitioning key.
    pub key: u64,
    /// Payload size in bytes.
    pub size: u32,
    /// Event time, ms of virtual time.
    pub event_time_ms: u64,
    /// Schema version the client wrote.
    pub schema_version: u16,
    /// Fails gateway validation (a workload fault).
    pub malformed: bool,
    /// Virtual µs at which the client generated it: the start of its end-to-end latency.
    pub born_us: u64,
}

/// Overhead of a record in a Kafka batch (headers, varints), bytes.
pub const RECORD_OVERHEAD: u64 = 40;
/// Overhead of a request on the wire, bytes.
pub const REQUEST_OVERHEAD: u64 = 120;

impl Record {
    /// Bytes the record occupies in a batch on disk and on the wire.
    pub fn wire_bytes(&self) -> u64 {
        u64::from(self.size) + RECORD_OVERHEAD
    }
}

/// Bytes a record set occupies on disk and on the wire.
pub fn records_bytes(records: &[Record]) -> u64 {
    records.iter().map(Record::wire_bytes).sum()
}

/// Identity of an idempotent producer session, with the batch's first sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerStamp {
    /// Producer id.
    pub pid: u64,
    /// Producer epoch.
    pub epoch: u16,
    /// Sequence of the batch's first record in this partition.
    pub base_seq: u64,
    /// Written inside a transaction (`transactional.id`): the records count
    /// only once a commit marker closes them.
    pub transactional: bool,
}

/// A transaction marker (Kafka's control record): it takes one offset of
/// the partition and carries no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlMarker {
    /// The producer's transaction committed: its records here count.
    Commit,
    /// The producer's transaction aborted: its records here are skipped by read_committed consumers.
    Abort,
}

/// A record batch as stored in a partition log.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Offset of the first record.
    pub base_offset: u64,
    /// Leader epoch under which it was appended.
    pub epoch: u32,
    /// Idempotent producer stamp, if any.
    pub producer: Option<ProducerStamp>,
    /// The records, encoded ([`RecordBlock`]).
    pub records: RecordBlock,
    /// Bytes of the batch.
    pub bytes: u64,
    /// A transaction marker: no records, one offset.
    pub control: Option<ControlMarker>,
    /// A record of the transaction-state partition (a coordinator's snapshot of one
    /// `transactional.id`): no events, one offset.
    pub txn_state: Option<Arc<crate::log::transaction_metadata::TxnStateRecord>>,
}

impl Batch {
    /// Offset one past the last record (a marker takes one offset of its own).
    pub fn end_offset(&self) -> u64 {
        self.base_offset + self.records.len() as u64 + u64::from(self.control.is_some() || self.txn_state.is_some())
    }
}

/// The records of one log batch, encoded. The records a log holds until
/// every in-sync replica has written them back are the largest part of a
/// run's memory at a high rate, and a decoded [`Record`] takes 48 bytes.
/// Here each field is stored in as few bytes as the batch's largest value of
/// it needs (frame of reference, as columnar formats do): sequence numbers
/// and birth times from the batch's smallest, event time from the birth
/// time. A typical record takes about 13 bytes. Every record sits at a fixed
/// stride, so reading one is a few loads and masks, and a read from inside
/// the batch starts there without decoding what comes before.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RecordBlock {
    /// The records at `stride` bytes each, then the zero bytes of [`pad`].
    bytes: Box<[u8]>,
    len: u32,
    /// Bytes of each field, in the order of `FIELDS`.
    widths: [u8; FIELDS],
    /// Where each field starts in a record.
    offsets: [u8; FIELDS],
    stride: u8,
    /// The newest birth time less the oldest, or `u32::MAX` if it does not fit:
    /// Kafka keeps a batch's newest timestamp in its header, and retention reads
    /// it for every batch a log summarises.
    born_span_us: u32,
    base_seq: u64,
    base_born_us: u64,
}

/// Fields stored per record: client, sequence offset, key, size, birth offset,
/// event time against birth (zigzag), schema version and malformed flag.
const FIELDS: usize = 7;

/// Zero bytes after the records, so that the last record can be read as one
/// 16-byte word, or, past 16 bytes a record, its last field as an 8-byte one.
fn pad(stride: u8) -> usize {
    match usize::from(stride) {
        s @ 0..=16 => 16 - s,
        _ => 8,
    }
}

impl std::fmt::Debug for RecordBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl RecordBlock {
    /// Encode `records`, in order.
    pub fn encode(records: &[Record]) -> Self {
        let Some(first) = records.first() else {
            return Self::default();
        };
        let (mut base_seq, mut base_born_us, mut newest_born_us) = (first.id.seq, first.born_us, first.born_us);
        for r in records {
            base_seq = base_seq.min(r.id.seq);
            base_born_us = base_born_us.min(r.born_us);
            newest_born_us = newest_born_us.max(r.born_us);
        }
        let fields = |r: &Record| -> [u64; FIELDS] {
            [
                u64::from(r.id.client),
                r.id.seq - base_seq,
                r.key,
                u64::from(r.size),
                r.born_us - base_born_us,
                // Event time is generation time unless the workload makes it late or skewed.
                zigzag(r.event_time_ms.wrapping_sub(r.born_us / 1000) as i64),
                u64::from(r.schema_version) << 1 | u64::from(r.malformed),
            ]
        };
        let mut widest = [0u64; FIELDS];
        for r in records {
            for (w, v) in widest.iter_mut().zip(fields(r)) {
                *w |= v;
            }
        }
        let widths = widest.map(|m| (64 - m.leading_zeros()).div_ceil(8) as u8);
        let mut offsets = [0u8; FIELDS];
        let mut stride = 0u8;
        for (o, w) in offsets.iter_mut().zip(widths) {
            *o = stride;
            stride += w;
        }
        let mut bytes = Vec::with_capacity(records.len() * usize::from(stride) + pad(stride));
        for r in records {
            let v = fields(r);
            if stride <= 16 {
                // The usual case: the whole record is one 128-bit word.
                let mut x = 0u128;
                for k in 0..FIELDS {
                    x |= u128::from(v[k]).wrapping_shl(8 * u32::from(offsets[k]));
                }
                bytes.extend_from_slice(&x.to_le_bytes()[..usize::from(stride)]);
            } else {
                for (v, &w) in v.iter().zip(&widths) {
                    bytes.extend_from_slice(&v.to_le_bytes()[..usize::from(w)]);
                }
            }
        }
        bytes.resize(bytes.len() + pad(stride), 0);
        Self {
            bytes: bytes.into_boxed_slice(),
            len: records.len() as u32,
            widths,
            offsets,
            stride,
            born_span_us: u32::try_from(newest_born_us - base_born_us).unwrap_or(u32::MAX),
            base_seq,
            base_born_us,
        }
    }

    /// The newest birth time of its records, µs (0 for none): the batch's
    /// `max_timestamp`, read from the header where the span fits, else from the records.
    pub fn newest_born_us(&self) -> u64 {
        match self.born_span_us {
            _ if self.len == 0 => 0,
            u32::MAX => self.iter().map(|r| r.born_us).max().unwrap_or(0),
            span => self.base_born_us + u64::from(span),
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether it holds no record (a control or state batch).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the encoding takes in memory.
    pub fn encoded_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The record at index `i`.
    pub fn get(&self, i: usize) -> Option<Record> {
        (i < self.len()).then(|| self.decode(i))
    }

    fn decode(&self, i: usize) -> Record {
        let at = i * usize::from(self.stride);
        let v: [u64; FIELDS] = if self.stride <= 16 {
            let word: [u8; 16] = self.bytes[at..at + 16].try_into().expect("a 16-byte window");
            let x = u128::from_le_bytes(word);
            // A field of width 0 may sit at offset 16, where the shift wraps to 0: its mask is 0.
            std::array::from_fn(|k| {
                x.wrapping_shr(8 * u32::from(self.offsets[k])) as u64 & MASKS[usize::from(self.widths[k])]
            })
        } else {
            std::array::from_fn(|k| {
                let o = at + usize::from(self.offsets[k]);
                let word: [u8; 8] = self.bytes[o..o + 8].try_into().expect("an 8-byte window");
                u64::from_le_bytes(word) & MASKS[usize::from(self.widths[k])]
            })
        };
        let born_us = self.base_born_us + v[4];
        Record {
            id: EventId {
                client: v[0] as u32,
                seq: self.base_seq + v[1],
            },
            key: v[2],
            size: v[3] as u32,
            event_time_ms: (born_us / 1000).wrapping_add(unzigzag(v[5]) as u64),
            schema_version: (v[6] >> 1) as u16,
            malformed: v[6] & 1 == 1,
            born_us,
        }
    }

    /// The records, decoded in order.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_range(0..self.len())
    }

    /// The records at indices `range` (cut to what it holds), decoded in order.
    pub fn iter_range(&self, range: std::ops::Range<usize>) -> Iter<'_> {
        let end = range.end.min(self.len());
        Iter {
            block: self,
            next: range.start.min(end),
            end,
        }
    }

    /// The first record.
    pub fn first(&self) -> Option<Record> {
        self.get(0)
    }

    /// The last record.
    pub fn last(&self) -> Option<Record> {
        self.len().checked_sub(1).map(|i| self.decode(i))
    }

    /// The records at indices `range`, encoded again: a truncation's kept head, or a
    /// read's tail from an offset inside the batch.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        let end = range.end.min(self.len());
        let kept: Vec<Record> = (range.start.min(end)..end).map(|i| self.decode(i)).collect();
        Self::encode(&kept)
    }

    /// Bytes the records occupy on disk and on the wire, as [`records_bytes`] counts them.
    pub fn wire_bytes(&self) -> u64 {
        self.iter().map(|r| r.wire_bytes()).sum()
    }

    /// The records, decoded into a vector.
    pub fn to_vec(&self) -> Vec<Record> {
        self.iter().collect()
    }
}

/// The low `w` bytes of a word, by `w` (up to 8; a table of 256 so that a `u8`
/// index needs no bounds check).
const MASKS: [u64; 256] = {
    let mut m = [u64::MAX; 256];
    let mut w = 0;
    while w < 8 {
        m[w] = (1u64 << (8 * w)) - 1;
        w += 1;
    }
    m
};

impl From<&[Record]> for RecordBlock {
    fn from(records: &[Record]) -> Self {
        Self::encode(records)
    }
}

impl From<Vec<Record>> for RecordBlock {
    fn from(records: Vec<Record>) -> Self {
        Self::encode(&records)
    }
}

impl<'a> IntoIterator for &'a RecordBlock {
    type Item = Record;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Decodes a [`RecordBlock`] in order.
#[derive(Clone)]
pub struct Iter<'a> {
    block: &'a RecordBlock,
    next: usize,
    /// One past the last index it yields.
    end: usize,
}

impl Iterator for Iter<'_> {
    type Item = Record;

    #[inline]
    fn next(&mut self) -> Option<Record> {
        if self.next >= self.end {
            return None;
        }
        self.next += 1;
        Some(self.block.decode(self.next - 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }

    /// Skipping is free: every record sits at a fixed stride.
    fn nth(&mut self, n: usize) -> Option<Record> {
        self.next = self.next.saturating_add(n).min(self.end);
        self.next()
    }
}

impl ExactSizeIterator for Iter<'_> {}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(client: u32, seq: u64, key: u64, born_us: u64, event_time_ms: u64) -> Record {
        Record {
            id: EventId { client, seq },
            key,
            size: 900,
            event_time_ms,
            schema_version: 2,
            malformed: false,
            born_us,
        }
    }

    #[test]
    fn round_trips_extremes_in_any_order() {
        let rs = vec![
            rec(3, 1_000, 42, 5_000_000, 5_000),
            rec(0, 7, u64::MAX, 4_000_000, 0),
            Record {
                malformed: true,
                schema_version: u16::MAX,
                size: u32::MAX,
                ..rec(u32::MAX, u64::MAX, 0, u64::MAX, u64::MAX)
            },
            rec(1, 0, 1, 0, 3_600_000),
        ];
        let b = RecordBlock::encode(&rs);
        assert_eq!(b.len(), 4);
        assert_eq!(b.to_vec(), rs);
        assert_eq!(b.first(), Some(rs[0]));
        assert_eq!(b.last(), Some(rs[3]));
        assert_eq!(b.slice(1..3).to_vec(), rs[1..3].to_vec());
        assert_eq!(b.slice(2..9).to_vec(), rs[2..].to_vec());
        assert!(b.slice(4..4).is_empty());
        assert_eq!(b.get(2), Some(rs[2]));
        assert_eq!(b.get(4), None);
        assert_eq!(b.iter().skip(1).nth(1), Some(rs[2]));
        assert_eq!(b.iter().nth(9), None);
        assert_eq!(b.iter_range(1..3).collect::<Vec<_>>(), rs[1..3].to_vec());
        assert_eq!(b.iter_range(2..9).collect::<Vec<_>>(), rs[2..].to_vec());
        assert_eq!(b.iter_range(5..9).count(), 0);
        assert_eq!(b.iter_range(1..3).nth(3), None);
        assert_eq!(b.slice(0..2).wire_bytes(), records_bytes(&rs[..2]));
        // The newest birth time: from the header where the span fits in it, else from the records.
        assert_eq!(b.slice(0..2).newest_born_us(), 5_000_000);
        assert_eq!(b.slice(1..2).newest_born_us(), 4_000_000);
        assert_eq!(b.newest_born_us(), u64::MAX);
        assert_eq!(b.slice(3..4).newest_born_us(), 0);
        assert_eq!(RecordBlock::default().newest_born_us(), 0);
    }

    /// The newest birth time rides in padding the header had anyway.
    #[test]
    fn the_header_stays_seven_words() {
        assert_eq!(std::mem::size_of::<RecordBlock>(), 56);
    }

    #[test]
    fn strides_at_the_padding_bounds_round_trip() {
        // 16 bytes a record (the widest read as one word), and 0 (every field equal).
        let wide_key: Vec<Record> = (0..5u64)
            .map(|i| {
                let born_us = 9_000 + i * 100_000;
                rec(1, 3 + i, u64::MAX - i, born_us, born_us / 1000)
            })
            .collect();
        let zeros: Vec<Record> = (0..3)
            .map(|_| Record {
                schema_version: 0,
                size: 0,
                ..rec(0, 77, 0, 5_000, 5)
            })
            .collect();
        for (rs, stride) in [(wide_key, 16), (zeros, 0)] {
            let b = RecordBlock::encode(&rs);
            assert_eq!(b.stride, stride);
            assert_eq!(b.to_vec(), rs);
            assert_eq!(b.last(), rs.last().copied());
        }
    }

    #[test]
    fn a_typical_batch_takes_a_quarter_of_the_decoded_records() {
        // Eight clients' records of one linger window, Zipf-sized keys, on time.
        let rs: Vec<Record> = (0..64u64)
            .map(|i| {
                rec(
                    (i % 8) as u32,
                    400_000 + i / 8,
                    (i * 7919) % 100_000,
                    50_000_000 + i * 40,
                    50_000 + i * 40 / 1000,
                )
            })
            .collect();
        let b = RecordBlock::encode(&rs);
        assert_eq!(b.to_vec(), rs);
        let decoded = rs.len() * std::mem::size_of::<Record>();
        assert!(b.encoded_bytes() * 4 <= decoded, "{} of {decoded}", b.encoded_bytes());
    }
}
