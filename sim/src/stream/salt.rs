//! The second stage of a salted aggregation. The first stage (each task's
//! chain) aggregates a hot key's events per sub-key, so the sink's window
//! table holds partial rows, one per sub-key and window; the second stage
//! re-aggregates them per original key and window. Counts and bytes of a
//! tumbling or sliding window add up across sub-keys (the window bounds do
//! not depend on the key), which is why a salted scenario refuses session
//! windows.

use super::Window;
use crate::config::SaltConfig;
use std::collections::BTreeMap;

/// Window rows: (key, window) to (count, bytes).
type Rows = BTreeMap<(u64, Window), (u64, u64)>;

/// Partial rows summed per original key and window.
pub fn reaggregate(salt: &SaltConfig, partial: &Rows) -> Rows {
    let mut out = Rows::new();
    for (&(k, w), &(count, bytes)) in partial {
        let e = out.entry((salt.original_key(k), w)).or_insert((0, 0));
        e.0 += count;
        e.1 += bytes;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_rows_of_one_key_sum_and_others_stay() {
        let salt = SaltConfig {
            hot_keys: vec![3],
            sub_keys: 2,
        };
        let w = Window {
            start_ms: 0,
            end_ms: 10,
        };
        let a = salt.routing_key(3, 0, 1);
        let b = (0..100)
            .map(|s| salt.routing_key(3, 0, s))
            .find(|&k| k != a)
            .expect("two sub-keys");
        let partial: Rows = [((a, w), (2, 20)), ((b, w), (3, 30)), ((4, w), (1, 5))].into();
        let want: Rows = [((3, w), (5, 50)), ((4, w), (1, 5))].into();
        assert_eq!(reaggregate(&salt, &partial), want);
    }
}
