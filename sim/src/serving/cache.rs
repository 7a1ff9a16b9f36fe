//! The cache node: a Redis-like key-value store in memory, one core, with
//! a capacity in entries (least recently used evicted first), a TTL per
//! entry, and leases on misses. A crash loses every entry and lease: it is
//! a cache, the database still has everything.

use crate::msg::Msg;
use crate::resources::Cpu;
use crate::serving::view::Value;
use crate::serving::wire::ServingMsg;
use crate::world::{Shared, TimelineKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One cached entry.
#[derive(Clone, Copy, Debug)]
struct Entry {
    value: Value,
    expires_us: u64,
    /// Position in the recency order.
    used: u64,
}

/// The cache's contents.
#[derive(Debug)]
pub struct CacheStore {
    entries: BTreeMap<u64, Entry>,
    /// Recency order: use stamp to key, oldest first.
    lru: BTreeMap<u64, u64>,
    leases: BTreeMap<u64, u64>,
    capacity: usize,
    ttl_us: u64,
    stamp: u64,
    /// Lease tokens carry the incarnation, so one from before a crash never matches.
    next_lease: u64,
    /// Entries evicted for room.
    pub evicted: u64,
}

impl CacheStore {
    /// An empty cache; `incarnation` keeps lease tokens unique across restarts.
    pub fn new(capacity: usize, ttl_us: u64, incarnation: u64) -> Self {
        CacheStore {
            entries: BTreeMap::new(),
            lru: BTreeMap::new(),
            leases: BTreeMap::new(),
            capacity: capacity.max(1),
            ttl_us,
            stamp: 0,
            next_lease: incarnation << 40,
            evicted: 0,
        }
    }

    /// The key's value if cached and not expired (a hit makes it the most recently used).
    pub fn get(&mut self, key: u64, now_us: u64) -> Option<Value> {
        let e = *self.entries.get(&key)?;
        if e.expires_us <= now_us {
            self.remove(key);
            return None;
        }
        self.touch(key);
        Some(e.value)
    }

    /// A lease for filling `key` after a miss.
    pub fn lease(&mut self, key: u64) -> u64 {
        self.next_lease += 1;
        self.leases.insert(key, self.next_lease);
        self.next_lease
    }

    /// A reader's fill: taken only under the lease its miss got.
    pub fn fill(&mut self, key: u64, value: Value, lease: u64, now_us: u64) {
        if self.leases.get(&key) == Some(&lease) {
            self.leases.remove(&key);
            self.set(key, value, now_us);
        }
    }

    /// The processor's write: set the value (never back to an older one) or delete the key; either voids leases.
    pub fn write(&mut self, key: u64, value: Option<Value>, now_us: u64) {
        self.leases.remove(&key);
        match value {
            Some(v) => {
                if self.entries.get(&key).is_none_or(|e| e.value <= v) {
                    self.set(key, v, now_us);
                }
            }
            None => self.remove(key),
        }
    }

    fn set(&mut self, key: u64, value: Value, now_us: u64) {
        self.remove(key);
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.lru.pop_first() else { break };
            self.entries.remove(&oldest);
            self.evicted += 1;
        }
        self.stamp += 1;
        self.entries.insert(
            key,
            Entry {
                value,
                expires_us: now_us + self.ttl_us,
                used: self.stamp,
            },
        );
        self.lru.insert(self.stamp, key);
    }

    fn touch(&mut self, key: u64) {
        self.stamp += 1;
        if let Some(e) = self.entries.get_mut(&key) {
            self.lru.remove(&e.used);
            e.used = self.stamp;
            self.lru.insert(self.stamp, key);
        }
    }

    fn remove(&mut self, key: u64) {
        if let Some(e) = self.entries.remove(&key) {
            self.lru.remove(&e.used);
        }
    }
}

/// Entry point of the cache node (also after a restart, empty).
pub async fn cache_main(sh: Arc<Shared>) {
    let addr = sh.layout.cache();
    let incarnation = sh.next_incarnation(addr);
    sh.timeline(
        TimelineKind::NodeStarted,
        &format!("cache started empty (incarnation {incarnation})"),
        &[addr.0 as u64],
    );
    let cfg = sh.scenario.serving.clone();
    let mut store = CacheStore::new(cfg.capacity, (cfg.ttl_s * 1e6) as u64, incarnation);
    let mut cpu = Cpu::new(1);
    let mut inbox = Vec::new();
    loop {
        let now_us = sh.fabric.recv(addr, u64::MAX / 4, &mut inbox).await;
        for env in inbox.drain(..) {
            let Msg::Serving(m) = env.msg else { continue };
            // One core runs commands in arrival order; a reply leaves when its command ran.
            let done = cpu.run(now_us, cfg.cache_op_us);
            let reply = match m {
                ServingMsg::Get { req, key } => Some(match store.get(key, now_us) {
                    Some(value) => ServingMsg::Hit {
                        req,
                        value,
                        served_us: done,
                    },
                    None => ServingMsg::Miss {
                        req,
                        lease: store.lease(key),
                    },
                }),
                ServingMsg::Fill { key, value, lease } => {
                    store.fill(key, value, lease, now_us);
                    None
                }
                ServingMsg::Write { entries } => {
                    let mut serving = sh.serving.lock().expect("serving lock");
                    for (key, value) in entries {
                        store.write(key, value, now_us);
                        if let Some(t) = serving.view.committed_us(key) {
                            let s = &mut serving.stats;
                            s.max_invalidation_delay_us = s.max_invalidation_delay_us.max(now_us.saturating_sub(t));
                        }
                    }
                    None
                }
                _ => None,
            };
            if let Some(r) = reply {
                sh.fabric.send(addr, env.src, Msg::Serving(r), done);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(end: u64) -> Value {
        Value {
            window_end_ms: end,
            count: 1,
        }
    }

    #[test]
    fn the_least_recently_used_entry_goes_first_and_entries_expire() {
        let mut c = CacheStore::new(2, 1_000, 1);
        c.write(1, Some(v(1)), 0);
        c.write(2, Some(v(1)), 0);
        assert!(c.get(1, 10).is_some()); // 1 is now the most recently used
        c.write(3, Some(v(1)), 20);
        assert!(c.get(2, 30).is_none() && c.get(1, 30).is_some() && c.get(3, 30).is_some());
        assert_eq!(c.evicted, 1);
        assert!(c.get(3, 1_020).is_none(), "expired at its TTL");
    }

    #[test]
    fn a_write_voids_the_lease_of_a_fill_read_before_it() {
        let mut c = CacheStore::new(10, 1_000_000, 1);
        let lease = c.lease(5);
        c.write(5, None, 1); // the commit's invalidation
        c.fill(5, v(1), lease, 2); // the old value read before the commit
        assert!(c.get(5, 3).is_none());
        let lease = c.lease(5);
        c.fill(5, v(2), lease, 4);
        assert_eq!(c.get(5, 5), Some(v(2)));
        // Write-through never goes back to an older window.
        c.write(5, Some(v(1)), 6);
        assert_eq!(c.get(5, 7), Some(v(2)));
    }
}
