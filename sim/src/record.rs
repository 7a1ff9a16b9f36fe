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

/// Bytes a record set occupies on disk and on the wire.
pub fn records_bytes(records: &[Record]) -> u64 {
    records.iter().map(|r| r.size as u64 + RECORD_OVERHEAD).sum()
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
    /// The records, encoded as a record batch encodes them.
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

/// The records of one log batch, encoded as Kafka's record batch encodes
/// them: each field a variable-length integer, most of them a delta from the
/// record before. The records a log holds until every in-sync replica has
/// written them back are the largest part of a run's memory at a high rate;
/// this holds each in about 12 bytes where the decoded [`Record`] takes 48.
/// Reading decodes in order, which is how every reader of a batch walks it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RecordBlock {
    bytes: Box<[u8]>,
    len: u32,
}

impl std::fmt::Debug for RecordBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl RecordBlock {
    /// Encode `records`, in order.
    pub fn encode(records: &[Record]) -> Self {
        Self::from_iter_exact(records.iter().copied(), records.len())
    }

    fn from_iter_exact(records: impl Iterator<Item = Record>, hint: usize) -> Self {
        let mut out = Vec::with_capacity(hint * 12);
        let mut prev = Prev::default();
        let mut len = 0u32;
        for r in records {
            prev.put(&mut out, &r);
            len += 1;
        }
        Self {
            bytes: out.into_boxed_slice(),
            len,
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

    /// The records, decoded in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            bytes: &self.bytes,
            left: self.len,
            prev: Prev::default(),
        }
    }

    /// The first record.
    pub fn first(&self) -> Option<Record> {
        self.iter().next()
    }

    /// The last record (decodes the whole block).
    pub fn last(&self) -> Option<Record> {
        self.iter().last()
    }

    /// The records at indices `range`, encoded again: a truncation's kept head, or a
    /// read's tail from an offset inside the batch.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        let n = range.end.min(self.len()).saturating_sub(range.start);
        Self::from_iter_exact(self.iter().skip(range.start).take(n), n)
    }

    /// Bytes the records occupy on disk and on the wire, as [`records_bytes`] counts them.
    pub fn wire_bytes(&self) -> u64 {
        self.iter().map(|r| u64::from(r.size) + RECORD_OVERHEAD).sum()
    }

    /// The records, decoded into a vector.
    pub fn to_vec(&self) -> Vec<Record> {
        self.iter().collect()
    }
}

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

/// The fields each record is encoded against: the record before it.
#[derive(Default, Clone, Copy)]
struct Prev {
    seq: u64,
    born_us: u64,
}

impl Prev {
    fn put(&mut self, out: &mut Vec<u8>, r: &Record) {
        put_varint(out, u64::from(r.id.client));
        // Records of one batch come from clients at similar points of their sequences, and
        // from one client in order: the delta is small either way.
        put_varint(out, zigzag(r.id.seq.wrapping_sub(self.seq) as i64));
        put_varint(out, r.key);
        put_varint(out, u64::from(r.size));
        put_varint(out, zigzag(r.born_us.wrapping_sub(self.born_us) as i64));
        // Event time is generation time unless the workload makes it late or skewed.
        put_varint(out, zigzag(r.event_time_ms.wrapping_sub(r.born_us / 1000) as i64));
        put_varint(out, u64::from(r.schema_version) << 1 | u64::from(r.malformed));
        self.seq = r.id.seq;
        self.born_us = r.born_us;
    }
}

/// Decodes a [`RecordBlock`] in order.
#[derive(Clone)]
pub struct Iter<'a> {
    bytes: &'a [u8],
    left: u32,
    prev: Prev,
}

impl Iterator for Iter<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let b = &mut self.bytes;
        let client = take_varint(b) as u32;
        let seq = self.prev.seq.wrapping_add(unzigzag(take_varint(b)) as u64);
        let key = take_varint(b);
        let size = take_varint(b) as u32;
        let born_us = self.prev.born_us.wrapping_add(unzigzag(take_varint(b)) as u64);
        let event_time_ms = (born_us / 1000).wrapping_add(unzigzag(take_varint(b)) as u64);
        let flags = take_varint(b);
        self.prev = Prev { seq, born_us };
        Some(Record {
            id: EventId { client, seq },
            key,
            size,
            event_time_ms,
            schema_version: (flags >> 1) as u16,
            malformed: flags & 1 == 1,
            born_us,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl ExactSizeIterator for Iter<'_> {}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(b: &mut &[u8]) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        // The block was encoded by `put_varint`: it cannot end inside a varint.
        let (&byte, rest) = b.split_first().expect("record block ends inside a varint");
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
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
    fn round_trips_extremes_and_backward_deltas() {
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
        assert_eq!(b.slice(0..2).wire_bytes(), records_bytes(&rs[..2]));
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
