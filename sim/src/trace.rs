//! The trace hash: a 64-bit digest of every protocol step the run takes
//! (deliveries, appends, elections, acknowledgements, faults), in order.
//! Equal (binary, scenario, seed) must give equal hashes; any divergence in
//! scheduling shows up as a different hash.

use std::sync::Mutex;

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;
/// The rotation after each word's multiply: a multiply carries a word's low
/// bits up but never its high bits down, so without it a word's top bits
/// would reach only the digest's top bits.
const ROTATE: u32 = 29;

/// A running digest: FNV-1a's offset and prime taken a 64-bit word at a
/// time, with a rotation after each multiply. Its output is fixed by this
/// definition on every platform and release, which std's hashers do not
/// promise. A word per step, where byte-wise FNV-1a takes eight, matters
/// because every message and every generated event passes through here.
#[derive(Debug)]
pub struct TraceHash {
    state: Mutex<u64>,
}

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash {
            state: Mutex::new(OFFSET),
        }
    }
}

impl TraceHash {
    /// Fold a sequence of words into the digest.
    pub fn record(&self, words: &[u64]) {
        let mut h = self.state.lock().expect("trace lock");
        for &w in words {
            *h = (*h ^ w).wrapping_mul(PRIME).rotate_left(ROTATE);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(words: &[u64]) -> u64 {
        let t = TraceHash::default();
        t.record(words);
        t.value()
    }

    /// The definition is pinned: a change to it changes every recorded hash,
    /// so it must be deliberate.
    #[test]
    fn the_digest_is_fixed_by_its_definition() {
        assert_eq!(digest(&[]), OFFSET);
        assert_eq!(digest(&[0]), 0x90c0_36fb_f5ec_77a9);
        assert_eq!(digest(&[1, 2, 3]), 0x1370_188f_86d2_481f);
    }

    /// Order, splitting and a word's top bit all show.
    #[test]
    fn order_and_every_bit_of_a_word_change_it() {
        assert_ne!(digest(&[1, 2]), digest(&[2, 1]));
        let (a, b) = (TraceHash::default(), TraceHash::default());
        a.record(&[7, 8]);
        b.record(&[7]);
        b.record(&[8]);
        assert_eq!(a.value(), b.value(), "one call or two fold the same words");
        let base = digest(&[5, 0]);
        for bit in 0..64 {
            let d = digest(&[5 ^ (1 << bit), 0]);
            assert_ne!(d, base, "bit {bit}");
            // After one more word, even the top bit of a word reaches the digest's low half.
            assert_ne!(d as u32, base as u32, "bit {bit} did not reach the low half");
        }
    }
}
