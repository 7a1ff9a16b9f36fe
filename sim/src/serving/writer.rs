//! The processor's side of the cache: once the sink acknowledged a
//! transaction, write each key it changed through to the cache or delete
//! it, as the write policy says. The write follows the commit (never
//! precedes it, or a read in between would fill the old value back), so
//! the time from commit to cache write, a network hop each way, is the
//! window in which a read can still see the replaced value.
//!
//! Writes are sent once, as cache clients send a `SET` or `DEL`: a cache
//! that is down loses them along with everything else it held.

use crate::config::WritePolicy;
use crate::ids::Addr;
use crate::msg::Msg;
use crate::serving::wire::ServingMsg;
use crate::wire::Row;
use crate::world::Shared;
use std::collections::BTreeSet;

/// After the sink committed `rows` from `from`: the cache writes the policy calls for.
pub fn after_commit(sh: &Shared, from: Addr, rows: &[Row], now_us: u64) {
    let cfg = &sh.scenario.serving;
    if !sh.layout.cache || cfg.write_policy == WritePolicy::None {
        return;
    }
    let keys: BTreeSet<u64> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Upsert { key, .. } => Some(*key),
            _ => None,
        })
        .collect();
    if keys.is_empty() {
        return;
    }
    let entries: Vec<(u64, Option<crate::serving::view::Value>)> = match cfg.write_policy {
        // What the transaction's RETURNING gives: the key's newest value in the database.
        WritePolicy::WriteThrough => {
            let serving = sh.serving.lock().expect("serving lock");
            keys.into_iter().map(|k| (k, serving.view.get(k))).collect()
        }
        _ => keys.into_iter().map(|k| (k, None)).collect(),
    };
    sh.fabric.send(
        from,
        sh.layout.cache(),
        Msg::Serving(ServingMsg::Write { entries }),
        now_us,
    );
}
