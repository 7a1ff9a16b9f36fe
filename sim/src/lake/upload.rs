//! One file on its way into the lake: the steps that make it durable and
//! visible (put the object, add it to the manifest, commit the consumer
//! offset) in the order the writer's `commit` setting gives, each an
//! object-store or coordinator request with a drawn latency that may fail
//! and is then retried with backoff under the same key.

use super::store::{Fenced, LakeFile, LakeStore};
use crate::config::{LakeCommit, LakeConfig};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A step of an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Put the file's object in the bucket.
    Put,
    /// Add the file to the manifest.
    Manifest,
    /// Commit the lake group's consumer offset to the file's end.
    Offsets,
}

/// How a request ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Applied and acknowledged.
    Ok,
    /// Failed before the store applied it.
    FailedBefore,
    /// Applied, but the writer hears of a failure (a lost reply, a timeout).
    FailedAfter,
}

/// The steps in the order a commit setting runs them.
pub fn steps(commit: LakeCommit) -> &'static [Step] {
    match commit {
        LakeCommit::ManifestFirst => &[Step::Put, Step::Manifest, Step::Offsets],
        LakeCommit::OffsetsFirst => &[Step::Offsets, Step::Put, Step::Manifest],
    }
}

/// A file being made durable.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The file.
    pub file: LakeFile,
    /// Index into [`steps`] of the step under way.
    next: usize,
    /// The request under way completes then, µs.
    pub due_us: u64,
    outcome: Outcome,
    /// Failed attempts of the step under way.
    attempts: u32,
    /// The object is in the bucket.
    pub put_done: bool,
}

/// What a step's completion did.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Still under way (a retry was scheduled, or the next step started).
    Pending,
    /// Every step done: the file is in the manifest and the offset committed.
    Done,
    /// The manifest or the offset store refused this writer's generation.
    Fenced,
}

impl Upload {
    /// Start the first step of `file` at `now_us`.
    pub fn start(mut file: LakeFile, cfg: &LakeConfig, rng: &mut ChaCha8Rng, now_us: u64) -> Self {
        if !cfg.idempotent_names {
            file.random_name = Some(rng.gen());
        }
        let mut u = Upload {
            file,
            next: 0,
            due_us: 0,
            outcome: Outcome::Ok,
            attempts: 0,
            put_done: false,
        };
        u.issue(cfg, rng, now_us);
        u
    }

    /// The step under way.
    pub fn step(&self, cfg: &LakeConfig) -> Step {
        steps(cfg.commit)[self.next]
    }

    fn issue(&mut self, cfg: &LakeConfig, rng: &mut ChaCha8Rng, at_us: u64) {
        let step = self.step(cfg);
        let (latency_us, can_fail) = match step {
            Step::Put => (request_us(cfg, rng, self.file.bytes), true),
            Step::Manifest => (request_us(cfg, rng, 0), true),
            Step::Offsets => (cfg.offset_commit_ms * 1000, false),
        };
        self.due_us = at_us + latency_us.max(1);
        self.outcome = if can_fail && rng.gen_bool(cfg.put_failure) {
            if rng.gen_bool(cfg.failure_after_write) {
                Outcome::FailedAfter
            } else {
                Outcome::FailedBefore
            }
        } else {
            Outcome::Ok
        };
    }

    /// The request under way completed at `now_us`: apply it to the store and
    /// start the next step, or schedule the retry.
    pub fn complete(
        &mut self,
        store: &mut LakeStore,
        generation: u64,
        cfg: &LakeConfig,
        rng: &mut ChaCha8Rng,
        now_us: u64,
    ) -> Progress {
        let step = self.step(cfg);
        if self.outcome != Outcome::FailedBefore {
            let applied: Result<(), Fenced> = match step {
                Step::Put => {
                    store.put(self.file);
                    self.put_done = true;
                    Ok(())
                }
                Step::Manifest => store.commit_manifest(self.file, generation),
                Step::Offsets => store.commit_offset(self.file.partition, self.file.hi, generation),
            };
            if applied.is_err() {
                return Progress::Fenced;
            }
        }
        if self.outcome != Outcome::Ok {
            store.stats.failed_requests += 1;
            self.attempts += 1;
            if step == Step::Manifest && !cfg.idempotent_names {
                // Redo the whole file under a fresh name: put it again, then commit that.
                self.file.random_name = Some(rng.gen());
                self.put_done = false;
                self.next = steps(cfg.commit)
                    .iter()
                    .position(|&s| s == Step::Put)
                    .expect("every order puts");
            }
            let backoff_ms = cfg
                .retry_backoff_ms
                .saturating_mul(1 << self.attempts.min(16).saturating_sub(1))
                .min(cfg.retry_backoff_max_ms);
            // The retry repeats the same request: same key, same manifest entry.
            self.issue(cfg, rng, now_us + backoff_ms * 1000);
            return Progress::Pending;
        }
        self.attempts = 0;
        self.next += 1;
        if self.next == steps(cfg.commit).len() {
            return Progress::Done;
        }
        self.issue(cfg, rng, now_us);
        Progress::Pending
    }

    /// The object is in the bucket and the manifest does not name it yet.
    pub fn unmanifested(&self, cfg: &LakeConfig) -> bool {
        self.put_done && self.step(cfg) == Step::Manifest
    }
}

/// Latency of one object-store request carrying `bytes`, µs: a fixed part,
/// an exponential tail and the upload at the request's throughput.
fn request_us(cfg: &LakeConfig, rng: &mut ChaCha8Rng, bytes: u64) -> u64 {
    let u: f64 = rng.gen::<f64>();
    let tail_ms = -cfg.put_tail_ms * (1.0 - u).ln();
    let upload_ms = bytes as f64 / (cfg.put_mb_per_s * 1e6) * 1000.0;
    ((cfg.put_latency_ms + tail_ms + upload_ms) * 1000.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn file() -> LakeFile {
        LakeFile {
            partition: 0,
            lo: 0,
            hi: 100,
            bytes: 1_000_000,
            newest_born_us: 5,
            random_name: None,
            txn_held: None,
        }
    }

    /// Drive an upload to its end; returns the store and how many requests ran.
    fn run(cfg: &LakeConfig, seed: u64) -> (LakeStore, u32) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut store = LakeStore::new(1);
        store.claim(0, 1).unwrap();
        let mut u = Upload::start(file(), cfg, &mut rng, 0);
        let mut requests = 1;
        while u.complete(&mut store, 1, cfg, &mut rng, u.due_us) == Progress::Pending {
            requests += 1;
            assert!(requests < 1000, "an upload never finished");
        }
        (store, requests)
    }

    #[test]
    fn failures_retry_under_the_same_key_and_commit_once() {
        let cfg = LakeConfig {
            put_failure: 0.5,
            failure_after_write: 0.5,
            ..LakeConfig::default()
        };
        let mut retried = false;
        for seed in 0..20 {
            let (store, requests) = run(&cfg, seed);
            retried |= requests > 3;
            assert_eq!(store.objects.len(), 1, "seed {seed}");
            assert_eq!(store.manifest.len(), 1, "seed {seed}");
            assert_eq!(store.offsets[0], 100);
            assert_eq!(store.stats.failed_requests as u32, requests - 3);
        }
        assert!(retried, "no seed drew a failure");
    }

    #[test]
    fn random_names_commit_a_file_twice_when_a_commit_fails_after_the_manifest_took_it() {
        let cfg = LakeConfig {
            put_failure: 0.5,
            failure_after_write: 1.0,
            idempotent_names: false,
            ..LakeConfig::default()
        };
        let doubled = (0..20).filter(|&seed| run(&cfg, seed).0.manifest.len() > 1).count();
        assert!(doubled > 0, "no seed committed the same range twice");
    }

    #[test]
    fn the_orders_differ_in_when_the_offset_moves() {
        assert_eq!(steps(LakeCommit::ManifestFirst).last(), Some(&Step::Offsets));
        assert_eq!(steps(LakeCommit::OffsetsFirst).first(), Some(&Step::Offsets));
    }
}
