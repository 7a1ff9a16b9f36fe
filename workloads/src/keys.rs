//! Key distributions. Keys are `u64` in `[0, count)`; the partitioner downstream
//! hashes them, so only their frequencies matter here.

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{fraction, join, FieldError};
use crate::rng::{below, chance, fnv1a64, mix64, unit_f64};

/// How events pick their key, tagged by `kind`. The default is uniform over 10,000 keys.
///
/// ```toml
/// [workload]
/// rate = { kind = "constant", events_per_s = 1000.0 }
/// keys = { kind = "uniform", count = 10000 }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeySpec {
    /// Every key equally likely.
    ///
    /// ```toml
    /// [workload]
    /// rate = { kind = "constant", events_per_s = 1000.0 }
    /// keys = { kind = "uniform", count = 1_000_000 }
    /// ```
    Uniform {
        /// Number of distinct keys, >= 1.
        count: u64,
    },
    /// Zipf's law: key `r - 1` has probability proportional to `1 / r^exponent`, so
    /// key 0 is the most frequent. Sampled in constant time without tables.
    ///
    /// ```toml
    /// [workload]
    /// rate = { kind = "constant", events_per_s = 1000.0 }
    /// keys = { kind = "zipf", count = 1_000_000, exponent = 1.1 }
    /// ```
    Zipf {
        /// Number of distinct keys, >= 1.
        count: u64,
        /// Skew, > 0 (about 1 for web traffic; larger is more skewed).
        exponent: f64,
    },
    /// `hot_share` of the events go to the keys `[0, hot_keys)`, uniformly; the rest
    /// go uniformly to the other keys.
    ///
    /// ```toml
    /// [workload]
    /// rate = { kind = "constant", events_per_s = 1000.0 }
    /// keys = { kind = "hot", count = 100_000, hot_keys = 10, hot_share = 0.5 }
    /// ```
    Hot {
        /// Number of distinct keys, > `hot_keys`.
        count: u64,
        /// Size of the hot set, >= 1.
        hot_keys: u64,
        /// Fraction of the events on the hot set, in [0, 1].
        hot_share: f64,
    },
    /// Like `hot`, but the hot set is a window of `hot_keys` consecutive keys (modulo
    /// `count`) that jumps every `move_every_s` seconds of virtual time to a place
    /// drawn from the seed, the same for every client.
    ///
    /// ```toml
    /// [workload]
    /// rate = { kind = "constant", events_per_s = 1000.0 }
    /// keys = { kind = "moving_hotspot", count = 100_000, hot_keys = 10, hot_share = 0.5, move_every_s = 300.0 }
    /// ```
    MovingHotspot {
        /// Number of distinct keys, > `hot_keys`.
        count: u64,
        /// Size of the hot set, >= 1.
        hot_keys: u64,
        /// Fraction of the events on the hot set, in [0, 1].
        hot_share: f64,
        /// How long the hot set stays in place, seconds, >= 0.001.
        move_every_s: f64,
    },
    /// Each client cycles through all keys in order, clients starting evenly spaced
    /// (the OpenMessaging Benchmark's `KEY_ROUND_ROBIN`). Draws no randomness.
    ///
    /// ```toml
    /// [workload]
    /// rate = { kind = "constant", events_per_s = 1000.0 }
    /// keys = { kind = "round_robin", count = 10000 }
    /// ```
    RoundRobin {
        /// Number of distinct keys, >= 1.
        count: u64,
    },
}

impl Default for KeySpec {
    fn default() -> KeySpec {
        KeySpec::Uniform { count: 10_000 }
    }
}

impl KeySpec {
    /// Number of distinct keys.
    pub fn count(&self) -> u64 {
        match self {
            KeySpec::Uniform { count }
            | KeySpec::Zipf { count, .. }
            | KeySpec::Hot { count, .. }
            | KeySpec::MovingHotspot { count, .. }
            | KeySpec::RoundRobin { count } => *count,
        }
    }

    /// Checks ranges; `path` is this table's dotted path (`"keys"`).
    pub fn validate(&self, path: &str) -> Result<(), FieldError> {
        let count = self.count();
        if count == 0 {
            return Err(FieldError::new(join(path, "count"), "must be >= 1"));
        }
        let hot = |hot_keys: u64, hot_share: f64| -> Result<(), FieldError> {
            if hot_keys == 0 {
                return Err(FieldError::new(join(path, "hot_keys"), "must be >= 1"));
            }
            if hot_keys >= count {
                return Err(FieldError::new(
                    join(path, "hot_keys"),
                    format!("must be less than count ({count}), got {hot_keys}"),
                ));
            }
            fraction(path, "hot_share", hot_share)
        };
        match self {
            KeySpec::Uniform { .. } | KeySpec::RoundRobin { .. } => Ok(()),
            KeySpec::Zipf { exponent, .. } => {
                if !exponent.is_finite() || *exponent <= 0.0 {
                    return Err(FieldError::new(
                        join(path, "exponent"),
                        format!("must be a finite number > 0, got {exponent}"),
                    ));
                }
                Ok(())
            }
            KeySpec::Hot {
                hot_keys, hot_share, ..
            } => hot(*hot_keys, *hot_share),
            KeySpec::MovingHotspot {
                hot_keys,
                hot_share,
                move_every_s,
                ..
            } => {
                hot(*hot_keys, *hot_share)?;
                if !move_every_s.is_finite() || *move_every_s < 0.001 {
                    return Err(FieldError::new(
                        join(path, "move_every_s"),
                        format!("must be a finite number >= 0.001 (one millisecond), got {move_every_s}"),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// A compiled key distribution, shared by all clients of a workload.
#[derive(Debug, Clone)]
pub(crate) enum KeySampler {
    Uniform(u64),
    Zipf(Zipf),
    Hot {
        count: u64,
        hot: u64,
        share: f64,
    },
    Moving {
        count: u64,
        hot: u64,
        share: f64,
        every_ms: u64,
    },
    RoundRobin(u64),
}

/// Per-client key state (only round robin has any).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyCursor {
    next: u64,
    /// The moving hotspot's salt, from the seed, so all clients agree on the hot set.
    hot_salt: u64,
}

impl KeySampler {
    pub(crate) fn new(spec: &KeySpec) -> KeySampler {
        match *spec {
            KeySpec::Uniform { count } => KeySampler::Uniform(count),
            KeySpec::Zipf { count, exponent } => KeySampler::Zipf(Zipf::new(count, exponent)),
            KeySpec::Hot {
                count,
                hot_keys,
                hot_share,
            } => KeySampler::Hot {
                count,
                hot: hot_keys,
                share: hot_share,
            },
            KeySpec::MovingHotspot {
                count,
                hot_keys,
                hot_share,
                move_every_s,
            } => KeySampler::Moving {
                count,
                hot: hot_keys,
                share: hot_share,
                every_ms: ((move_every_s * 1000.0).round() as u64).max(1),
            },
            KeySpec::RoundRobin { count } => KeySampler::RoundRobin(count),
        }
    }

    pub(crate) fn cursor(&self, seed: u64, client: u32, clients: u32) -> KeyCursor {
        let next = match self {
            KeySampler::RoundRobin(count) => {
                (u128::from(client) * u128::from(*count) / u128::from(clients.max(1))) as u64 % count
            }
            _ => 0,
        };
        KeyCursor {
            next,
            hot_salt: mix64(seed ^ fnv1a64(b"moving_hotspot")),
        }
    }

    /// First key of the moving hot set at `t_ms`.
    pub(crate) fn hot_start(salt: u64, count: u64, every_ms: u64, t_ms: u64) -> u64 {
        let epoch = t_ms / every_ms;
        ((u128::from(mix64(salt ^ mix64(epoch))) * u128::from(count)) >> 64) as u64
    }

    #[inline]
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng, t_ms: u64, cur: &mut KeyCursor) -> u64 {
        match *self {
            KeySampler::Uniform(count) => below(rng, count),
            KeySampler::Zipf(ref z) => z.sample(rng) - 1,
            KeySampler::Hot { count, hot, share } => {
                if chance(rng, share) {
                    below(rng, hot)
                } else {
                    hot + below(rng, count - hot)
                }
            }
            KeySampler::Moving {
                count,
                hot,
                share,
                every_ms,
            } => {
                let start = Self::hot_start(cur.hot_salt, count, every_ms, t_ms);
                let x = if chance(rng, share) {
                    below(rng, hot)
                } else {
                    hot + below(rng, count - hot)
                };
                let k = start + x;
                if k >= count {
                    k - count
                } else {
                    k
                }
            }
            KeySampler::RoundRobin(count) => {
                let k = cur.next;
                cur.next = if k + 1 >= count { 0 } else { k + 1 };
                k
            }
        }
    }
}

/// Zipf sampling by rejection-inversion (Hörmann and Derflinger, 1996): constant
/// expected time and no tables, whatever the number of keys.
#[derive(Debug, Clone)]
pub(crate) struct Zipf {
    n: f64,
    s: f64,
    h_x1: f64,
    h_n: f64,
    s_val: f64,
}

impl Zipf {
    pub(crate) fn new(count: u64, exponent: f64) -> Zipf {
        let mut z = Zipf {
            n: count as f64,
            s: exponent,
            h_x1: 0.0,
            h_n: 0.0,
            s_val: 0.0,
        };
        z.h_x1 = z.h_integral(1.5) - 1.0;
        z.h_n = z.h_integral(z.n + 0.5);
        z.s_val = 2.0 - z.h_integral_inv(z.h_integral(2.5) - z.h(2.0));
        z
    }

    fn h(&self, x: f64) -> f64 {
        libm::exp(-self.s * libm::log(x))
    }

    /// `(x^(1-s) - 1) / (1-s)`, continuous through `s = 1`.
    fn h_integral(&self, x: f64) -> f64 {
        let lx = libm::log(x);
        helper2((1.0 - self.s) * lx) * lx
    }

    fn h_integral_inv(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        libm::exp(helper1(t) * x)
    }

    /// A rank in `[1, n]`.
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> u64 {
        loop {
            let u = self.h_n + unit_f64(rng) * (self.h_x1 - self.h_n);
            let x = self.h_integral_inv(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.s_val || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }
}

/// `log1p(x) / x`, accurate near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        libm::log1p(x) / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// `expm1(x) / x`, accurate near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        libm::expm1(x) / x
    } else {
        1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x))
    }
}
