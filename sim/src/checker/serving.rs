//! The serving layer's checks: no read returned a value the database had
//! replaced more than the staleness bound before (`serving.stale_read`),
//! and every read was answered (`serving.no_loss`: a cache that crashed
//! held nothing the database lacks, so reads fall through and lose nothing).

use crate::serving::store::BadRead;
use crate::world::Shared;
use streamsim_reports::{Percentiles, Violation};

/// What the query load saw, for the report.
#[derive(Debug, Default, Clone)]
pub struct ServingReport {
    /// Reads answered.
    pub reads: u64,
    /// Reads the cache answered.
    pub hits: u64,
    /// Read latency, ms.
    pub latency: Percentiles,
    /// Reads served a value replaced more than the bound before.
    pub stale_reads: u64,
    /// Reads that failed or were still unanswered at the end.
    pub failed_reads: u64,
    /// The longest a served value had been replaced, ms.
    pub max_staleness_ms: f64,
    /// The staleness bound, ms.
    pub bound_ms: u64,
    /// The longest from a database commit to the cache write that followed it, ms.
    pub max_invalidation_delay_ms: f64,
    /// Cache requests that timed out.
    pub cache_timeouts: u64,
}

fn value_text(r: &BadRead) -> String {
    r.value.map_or("nothing".to_string(), |v| {
        format!("count {} of the window ending at {} ms", v.count, v.window_end_ms)
    })
}

/// Check the query load's reads at the end of the run (`end_ms`).
pub fn check(sh: &Shared, end_ms: u64, out: &mut Vec<Violation>) -> ServingReport {
    let cfg = &sh.scenario.serving;
    let serving = sh.serving.lock().expect("serving lock");
    let s = &serving.stats;
    // A read still waiting at the end had every retry's time to be answered.
    let patience_us = (cfg.cache_timeout_ms + 2 * cfg.db_timeout_ms) * 1000;
    let unanswered: Vec<(u64, u64)> = s
        .in_flight
        .values()
        .copied()
        .filter(|&(_, issued)| issued + patience_us < end_ms * 1000)
        .collect();
    let rep = ServingReport {
        reads: s.reads,
        hits: s.hits,
        latency: Percentiles::from_micros(&s.latency),
        stale_reads: s.stale_reads,
        failed_reads: s.failed + unanswered.len() as u64,
        max_staleness_ms: s.max_replaced_for_us as f64 / 1000.0,
        bound_ms: cfg.max_staleness_ms,
        max_invalidation_delay_ms: s.max_invalidation_delay_us as f64 / 1000.0,
        cache_timeouts: s.cache_timeouts,
    };
    if let Some(w) = &s.first_stale {
        out.push(Violation {
            invariant: "serving.stale_read".into(),
            detail: format!(
                "{} read(s) returned a value the database had replaced more than {} ms before; the first: key {} \
                 read at {:.3} s got {}, which the database had replaced {:.3} s before it was served \
                 (write policy {}, TTL {} s)",
                s.stale_reads,
                cfg.max_staleness_ms,
                w.key,
                w.issued_us as f64 / 1e6,
                value_text(w),
                w.replaced_for_us as f64 / 1e6,
                cfg.write_policy.name(),
                cfg.ttl_s
            ),
            at_ms: w.served_us / 1000,
        });
    }
    if rep.failed_reads > 0 {
        let first = s
            .first_failed
            .map(|w| (w.key, w.issued_us))
            .or(unanswered.first().copied());
        let (key, at) = first.unwrap_or_default();
        out.push(Violation {
            invariant: "serving.no_loss".into(),
            detail: format!(
                "{} read(s) got no answer ({} failed, {} unanswered at the end); the first: key {key} read at {:.3} s{}",
                rep.failed_reads,
                s.failed,
                unanswered.len(),
                at as f64 / 1e6,
                if cfg.fall_through {
                    String::new()
                } else {
                    " (fall_through = false: a read the cache cannot answer fails)".to_string()
                }
            ),
            at_ms: at / 1000,
        });
    }
    rep
}

impl ServingReport {
    /// The `serving` object of the run's JSON.
    pub fn result(&self) -> streamsim_reports::ServingResult {
        streamsim_reports::ServingResult {
            reads: self.reads,
            hit_ratio: if self.reads > 0 {
                self.hits as f64 / self.reads as f64
            } else {
                0.0
            },
            read_latency_ms: self.latency,
            stale_reads: self.stale_reads,
            failed_reads: self.failed_reads,
            staleness_bound_ms: self.bound_ms,
            max_staleness_ms: self.max_staleness_ms,
            max_invalidation_delay_ms: self.max_invalidation_delay_ms,
            cache_timeouts: self.cache_timeouts,
        }
    }
}

/// The reads of report bucket `i`, when the scenario has a query load.
pub fn bucket(sh: &Shared, i: usize) -> Option<streamsim_reports::ServingBucket> {
    if !sh.layout.reader {
        return None;
    }
    let serving = sh.serving.lock().expect("serving lock");
    let b = serving.stats.buckets.get(i);
    Some(b.map_or_else(Default::default, |b| streamsim_reports::ServingBucket {
        reads: b.reads,
        hits: b.hits,
        latency_ms: b.latency.percentiles(),
    }))
}
