//! When a processor instance must next wake with no message to wake it: the
//! earliest of the timers it actually has. Between two wakes it sleeps; the
//! rest of what it waits for (fetch replies, the sink's and the
//! coordinator's answers, a new group generation) arrives as a message and
//! wakes it anyway.
//!
//! A timer at or before now is left out: the pass that just ran acted on it,
//! or what it waits for next is a message or a later timer. Offering a timer
//! that turns out to need nothing costs one idle pass, never a wrong step.

use super::task::{Phase, Task};
use super::Processor;
use crate::config::ProcessorConfig;
use crate::consumer_fetches::FETCH_TIMEOUT_MS;

/// The earliest of the timers offered that lie after `now_ms`.
pub(super) struct NextWake {
    now_ms: u64,
    at_ms: Option<u64>,
}

impl NextWake {
    /// No timer yet, as seen at `now_ms`.
    pub(super) fn new(now_ms: u64) -> Self {
        NextWake { now_ms, at_ms: None }
    }

    /// A timer at `ms`, kept if it lies after now.
    pub(super) fn at(&mut self, ms: u64) {
        if ms > self.now_ms {
            self.at_ms = Some(self.at_ms.map_or(ms, |a| a.min(ms)));
        }
    }

    /// A timer at the microsecond `us`, woken for at the millisecond that covers it.
    pub(super) fn at_us(&mut self, us: u64) {
        self.at(us.div_ceil(1000));
    }

    /// The earliest timer kept, if any.
    pub(super) fn earliest(&self) -> Option<u64> {
        self.at_ms
    }
}

impl Processor {
    /// The next instant (ms) the instance has something to do with no message.
    pub(super) fn next_wake_ms(&self, now_ms: u64) -> u64 {
        let mut w = NextWake::new(now_ms);
        w.at_us(self.busy_until_us);
        if let Some(since) = self.revoking_since_ms {
            w.at(since + self.cfg.rebalance_timeout_ms);
        }
        for &(_, sent) in self.fetches.values() {
            w.at(sent + FETCH_TIMEOUT_MS + self.cfg.fetch_max_wait_ms);
        }
        for t in self.tasks.values() {
            task_timers(t, &self.cfg, &mut w);
        }
        if let Some(e) = &self.eos {
            e.timers(&self.cfg, &mut w);
        }
        // The heartbeat is always due some time: if a step after it asked for one now, it
        // leaves on the next millisecond, as it would have under a fixed poll.
        let heartbeat = self.next_heartbeat_ms.max(now_ms + 1);
        w.earliest().map_or(heartbeat, |t| t.min(heartbeat))
    }
}

/// A task's timers: its load's timeout and backoff, its commit's interval,
/// timeout and backoff, its idle wait before fetching, its thread's busy
/// time and its operator's processing-time timers.
fn task_timers(t: &Task, cfg: &ProcessorConfig, w: &mut NextWake) {
    w.at(t.backoff_until_ms);
    w.at_us(t.busy_until_us);
    match t.phase {
        Phase::Loading => {
            if let Some((_, sent)) = t.load {
                w.at(sent + cfg.sink_timeout_ms);
            }
        }
        Phase::Running => {
            w.at(t.idle_until_ms);
            w.at(t.next_commit_ms);
            if let Some(f) = &t.in_flight {
                w.at(f.sent_ms + cfg.sink_timeout_ms);
            }
            if !t.finished {
                if let Some(ms) = t.op.next_tick_ms() {
                    w.at(ms);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NextWake;

    #[test]
    fn keeps_the_earliest_timer_after_now() {
        let mut w = NextWake::new(100);
        w.at(250);
        w.at(130);
        w.at(400);
        assert_eq!(w.earliest(), Some(130));
    }

    #[test]
    fn a_timer_at_or_before_now_wakes_nothing() {
        let mut w = NextWake::new(100);
        w.at(100);
        w.at(0);
        assert_eq!(
            w.earliest(),
            None,
            "a timer already due was handled by the pass that ran"
        );
        w.at(101);
        assert_eq!(w.earliest(), Some(101));
    }

    #[test]
    fn a_microsecond_timer_wakes_at_the_millisecond_that_covers_it() {
        let mut w = NextWake::new(100);
        w.at_us(100_001);
        assert_eq!(w.earliest(), Some(101));
        let mut w = NextWake::new(100);
        w.at_us(100_000);
        assert_eq!(w.earliest(), None);
    }
}
