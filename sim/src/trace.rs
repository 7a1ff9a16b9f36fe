//! The trace hash: a 64-bit FNV-1a digest of every protocol step the run
//! takes (deliveries, appends, elections, acknowledgements, faults), in
//! order. Equal (binary, scenario, seed) must give equal hashes; any
//! divergence in scheduling shows up as a different hash.

use std::sync::Mutex;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A running FNV-1a digest. FNV is chosen over std's hashers because its
/// output is fixed by its definition, on every platform and release.
#[derive(Debug)]
pub struct TraceHash {
    state: Mutex<u64>,
}

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash {
            state: Mutex::new(FNV_OFFSET),
        }
    }
}

impl TraceHash {
    /// Fold a sequence of words into the digest.
    pub fn record(&self, words: &[u64]) {
        let mut h = self.state.lock().expect("trace lock");
        for w in words {
            for b in w.to_le_bytes() {
                *h ^= b as u64;
                *h = h.wrapping_mul(FNV_PRIME);
            }
        }
    }

    /// The digest so far.
    pub fn value(&self) -> u64 {
        *self.state.lock().expect("trace lock")
    }

    /// The digest as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.value())
    }
}
