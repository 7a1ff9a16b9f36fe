//! Messages of the serving layer: the reader's gets, the cache's hits and
//! misses (a miss hands out a lease), the database's point reads, the
//! reader's lease-guarded fills, and the processor's writes after a commit.

use crate::serving::view::Value;

/// A serving-layer message.
#[derive(Clone, Debug)]
pub enum ServingMsg {
    /// Reader to cache: the key's value, if cached.
    Get {
        /// Read id.
        req: u64,
        /// Key.
        key: u64,
    },
    /// Cache to reader: the cached value.
    Hit {
        /// Read id.
        req: u64,
        /// The value.
        value: Value,
        /// When the cache served it, µs.
        served_us: u64,
    },
    /// Cache to reader: not cached; a fill must carry this lease, which a
    /// write or delete of the key in between voids (so a fill read before a
    /// commit cannot overwrite what the commit's invalidation left).
    Miss {
        /// Read id.
        req: u64,
        /// Lease token.
        lease: u64,
    },
    /// Reader to database: a point read of the key's newest window.
    DbRead {
        /// Read id.
        req: u64,
        /// Key.
        key: u64,
    },
    /// Database to reader.
    DbValue {
        /// Read id.
        req: u64,
        /// The value, if the key has one.
        value: Option<Value>,
        /// When the database read it, µs.
        served_us: u64,
    },
    /// Reader to cache: set the key to what the database returned, if the lease still holds.
    Fill {
        /// Key.
        key: u64,
        /// Value.
        value: Value,
        /// The lease the miss handed out.
        lease: u64,
    },
    /// Processor to cache after a commit: set (write-through) or delete (invalidate) each key.
    Write {
        /// Keys with the value to set, or none to delete.
        entries: Vec<(u64, Option<Value>)>,
    },
}

impl ServingMsg {
    /// Approximate wire size, bytes beyond the request overhead.
    pub fn bytes(&self) -> u64 {
        match self {
            ServingMsg::Write { entries } => 24 * entries.len() as u64,
            _ => 32,
        }
    }

    /// A small stable code per kind, for the trace hash.
    pub fn kind_code(&self) -> u64 {
        match self {
            ServingMsg::Get { .. } => 1,
            ServingMsg::Hit { .. } => 2,
            ServingMsg::Miss { .. } => 3,
            ServingMsg::DbRead { .. } => 4,
            ServingMsg::DbValue { .. } => 5,
            ServingMsg::Fill { .. } => 6,
            ServingMsg::Write { .. } => 7,
        }
    }
}
