//! Watching a run from the supervisor: high-watermark stalls for the
//! timeline, stall detection, and the progress the wall-clock watchdog
//! reads from outside the simulation thread.
//!
//! Two kinds of "stuck" end a run instead of hanging it:
//!
//! * **Livelock**: virtual time stops advancing while tasks keep waking
//!   each other with zero delay. madsim only checks its own time limit when
//!   the ready queue empties, so nothing inside the simulation notices; the
//!   watchdog thread sees [`Progress`] stand still for a stretch of wall
//!   time and gives up with [`crate::run::RunError::Stalled`].
//! * **A drain that cannot finish**: after the workload every fault heals,
//!   so unsettled events or unreplicated records should shrink. If neither
//!   moves for [`DRAIN_STALL_MS`] of virtual time the drain ends early and
//!   the timeline (and the liveness violation) names what was stuck.
//!
//! Everything here runs inside the supervisor's existing wake-ups and adds
//! no task: an extra task would change madsim's scheduling draws and with
//! them the outcome of every existing scenario.

use crate::ids::PartitionId;
use crate::world::{Shared, TimelineKind};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use streamsim_reports::Violation;

/// A high watermark that has not moved for this long while its leader
/// holds records past it is reported as stalled, ms.
pub const HW_STALL_MS: u64 = 2_000;

/// A drain with no progress for this long ends early, ms of virtual time.
pub const DRAIN_STALL_MS: u64 = 60_000;

/// Virtual time standing still for this long (wall clock) is a livelock.
pub const LIVELOCK_WALL: Duration = Duration::from_secs(60);

/// What the watchdog can read of a running simulation.
#[derive(Debug, Default)]
pub struct Progress {
    /// Virtual ms the supervisor last saw.
    pub virtual_ms: AtomicU64,
    /// What the run was doing then, for the stall message.
    pub status: Mutex<String>,
}

impl Progress {
    /// Record the supervisor's view.
    pub fn set(&self, virtual_ms: u64, status: impl FnOnce() -> String) {
        // The status string is only rebuilt when virtual time moved by a
        // second or more, to keep the supervisor cheap.
        let prev = self.virtual_ms.swap(virtual_ms, Ordering::Relaxed);
        if prev / 1000 != virtual_ms / 1000 || prev == 0 {
            *self.status.lock().expect("progress lock") = status();
        }
    }

    /// The last status.
    pub fn status(&self) -> String {
        self.status.lock().expect("progress lock").clone()
    }
}

/// Why the watchdog stopped waiting.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchStop {
    /// The wall-clock limit passed.
    WallLimit,
    /// Virtual time stood still for this long.
    Livelock(Duration),
}

/// Wait for the simulation's result on `rx`, giving up when the wall limit
/// passes or virtual time stands still for `livelock` of wall time.
pub fn await_result<T>(
    rx: &std::sync::mpsc::Receiver<T>,
    progress: &Progress,
    wall_limit: Duration,
    livelock: Duration,
) -> Result<T, WatchStop> {
    let started = Instant::now();
    let mut seen = progress.virtual_ms.load(Ordering::Relaxed);
    let mut since = Instant::now();
    loop {
        let left = wall_limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(WatchStop::WallLimit);
        }
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(v) => return Ok(v),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Err(WatchStop::WallLimit),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        let now = progress.virtual_ms.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            since = Instant::now();
        } else if since.elapsed() >= livelock {
            return Err(WatchStop::Livelock(since.elapsed()));
        }
    }
}

#[derive(Clone, Debug, Default)]
struct HwState {
    /// (leader epoch, hw) last seen.
    seen: (u32, u64),
    /// When it last moved, or when the leader last had nothing unreplicated.
    moved_ms: u64,
    /// Set while a stall is reported and not yet over.
    stalled_since: Option<u64>,
}

/// Progress of a drain: the fewest unsettled events and unreplicated
/// records seen, and when either last went down.
#[derive(Debug, Default, Clone)]
pub struct DrainProgress {
    best: Option<((u64, u64), u64)>,
}

impl DrainProgress {
    /// Note the state at `now`; returns for how long (ms) nothing has
    /// improved, or `None` when nothing is left to do.
    pub fn observe(&mut self, now: u64, unsettled: u64, unreplicated: u64) -> Option<u64> {
        let cur = (unsettled, unreplicated);
        match self.best {
            Some((b, _)) if cur.0 >= b.0 && cur.1 >= b.1 => {}
            // Either figure going down is progress; the other may rise meanwhile.
            _ => self.best = Some((cur, now)),
        }
        let (_, since) = self.best.expect("set above");
        (cur != (0, 0)).then(|| now.saturating_sub(since))
    }
}

/// The supervisor's watcher: call [`Monitor::tick`] at each wake-up.
#[derive(Debug, Default)]
pub struct Monitor {
    hw: Vec<HwState>,
    drain: DrainProgress,
}

impl Monitor {
    /// Look at the world. Returns a description of what is stuck when the
    /// drain has made no progress for [`DRAIN_STALL_MS`]: the run should end.
    pub fn tick(&mut self, sh: &Shared, now: u64, draining: bool) -> Option<String> {
        let backlog = self.watch_hw(sh, now);
        if !draining {
            return None;
        }
        let unsettled = sh.ledger.lock().expect("ledger lock").unsettled();
        let stalled_ms = self.drain.observe(now, unsettled, backlog)?;
        if stalled_ms < DRAIN_STALL_MS {
            return None;
        }
        let what = stuck(sh, unsettled);
        sh.timeline_with(
            TimelineKind::Stall,
            &format!("drain stalled: nothing progressed for {} s; {what}", stalled_ms / 1000),
            &[unsettled, backlog],
            vec![
                ("unsettled".into(), json!(unsettled)),
                ("unreplicated".into(), json!(backlog)),
                ("stalled_ms".into(), json!(stalled_ms)),
            ],
        );
        Some(what)
    }

    /// Report high-watermark stalls and resumptions; returns the records
    /// leaders hold past their high watermark, summed over partitions.
    fn watch_hw(&mut self, sh: &Shared, now: u64) -> u64 {
        let md = sh.metadata.lock().expect("metadata lock").clone();
        let board = sh.hw_board.lock().expect("hw board lock").clone();
        if self.hw.len() < md.len() {
            self.hw.resize(md.len(), HwState::default());
        }
        let mut backlog = 0;
        for s in &md {
            let p: PartitionId = s.partition;
            let Some(l) = s.leader else { continue };
            let (b, e, hw) = board[p];
            if b != l || e != s.leader_epoch {
                continue;
            }
            let leo = sh.leo(l, p);
            let st = &mut self.hw[p];
            let pending = leo.saturating_sub(hw);
            backlog += pending;
            if (e, hw) != st.seen || pending == 0 {
                if let Some(since) = st.stalled_since.take() {
                    sh.timeline_with(
                        TimelineKind::HwResume,
                        &format!(
                            "partition {p}: high watermark moves again ({} -> {hw}, leader broker-{l}) after {:.1} s",
                            st.seen.1,
                            now.saturating_sub(since) as f64 / 1000.0
                        ),
                        &[p as u64, hw],
                        vec![
                            ("partition".into(), json!(p)),
                            ("leader".into(), json!(l)),
                            ("hw".into(), json!(hw)),
                            ("stalled_ms".into(), json!(now.saturating_sub(since))),
                        ],
                    );
                }
                st.seen = (e, hw);
                st.moved_ms = now;
                continue;
            }
            if st.stalled_since.is_none() && now.saturating_sub(st.moved_ms) > HW_STALL_MS {
                st.stalled_since = Some(st.moved_ms);
                sh.timeline_with(
                    TimelineKind::HwStall,
                    &format!(
                        "partition {p}: high watermark stuck at {hw} for {:.1} s while leader broker-{l} has {leo} ({pending} unreplicated; ISR {:?})",
                        now.saturating_sub(st.moved_ms) as f64 / 1000.0,
                        s.isr
                    ),
                    &[p as u64, hw, leo],
                    vec![
                        ("partition".into(), json!(p)),
                        ("leader".into(), json!(l)),
                        ("hw".into(), json!(hw)),
                        ("leo".into(), json!(leo)),
                        ("isr".into(), json!(s.isr)),
                    ],
                );
            }
        }
        backlog
    }

    /// Whether a partition's high watermark is reported stalled now (for tests).
    pub fn is_stalled(&self, p: PartitionId) -> bool {
        self.hw.get(p).is_some_and(|s| s.stalled_since.is_some())
    }
}

/// What the run is doing, for a livelock message.
pub fn status(sh: &Shared, now: u64, workload_ms: u64) -> String {
    let unsettled = sh.ledger.lock().expect("ledger lock").unsettled();
    if now < workload_ms {
        format!("running the workload ({unsettled} event(s) in flight)")
    } else {
        format!("draining ({})", stuck(sh, unsettled))
    }
}

/// Add what was stuck to the liveness violation of a drain that stalled.
pub fn annotate(violations: &mut [Violation], stall: Option<&str>) {
    let Some(what) = stall else { return };
    for v in violations.iter_mut().filter(|v| v.invariant.starts_with("liveness")) {
        v.detail.push_str(&format!(
            "; the drain stalled (no progress for {} s): {what}",
            DRAIN_STALL_MS / 1000
        ));
    }
}

/// What keeps a drain from finishing, in a sentence.
pub fn stuck(sh: &Shared, unsettled: u64) -> String {
    let mut parts = Vec::new();
    if unsettled > 0 {
        let ledger = sh.ledger.lock().expect("ledger lock");
        let clients: Vec<usize> = ledger
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.generated > c.acked.len() + c.dead.len())
            .map(|(i, _)| i)
            .take(8)
            .collect();
        parts.push(format!("{unsettled} event(s) unsettled (clients {clients:?})"));
    }
    let md = sh.metadata.lock().expect("metadata lock").clone();
    let leaderless: Vec<usize> = md.iter().filter(|s| s.leader.is_none()).map(|s| s.partition).collect();
    if !leaderless.is_empty() {
        parts.push(format!("partitions without a leader {leaderless:?}"));
    }
    let lagging: Vec<String> = md
        .iter()
        .filter_map(|s| {
            let l = s.leader?;
            let leo = sh.leo(l, s.partition);
            let behind: Vec<usize> = s
                .replicas
                .iter()
                .copied()
                .filter(|&r| r != l && sh.leo(r, s.partition) < leo)
                .collect();
            (!behind.is_empty()).then(|| format!("p{} (leader broker-{l}, behind: {behind:?})", s.partition))
        })
        .take(8)
        .collect();
    if !lagging.is_empty() {
        parts.push(format!("followers behind on {}", lagging.join(", ")));
    }
    if parts.is_empty() {
        "nothing visibly stuck".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_stalls_when_neither_figure_goes_down() {
        let mut d = DrainProgress::default();
        assert_eq!(d.observe(0, 100, 50), Some(0));
        // Unsettled events go down while the backlog rises: progress.
        assert_eq!(d.observe(10_000, 90, 80), Some(0));
        assert_eq!(d.observe(40_000, 95, 80), Some(30_000));
        assert_eq!(d.observe(70_000, 90, 80), Some(60_000));
        assert!(d.observe(70_000, 90, 80).unwrap() >= DRAIN_STALL_MS);
        // The backlog going down is progress too, and an empty drain is not stuck.
        assert_eq!(d.observe(80_000, 90, 79), Some(0));
        assert_eq!(d.observe(200_000, 0, 0), None);
    }

    #[test]
    fn the_watchdog_names_a_livelock_when_virtual_time_stands_still() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let p = Progress::default();
        p.set(1234, || "running the workload".into());
        let t = Instant::now();
        let r = await_result(&rx, &p, Duration::from_secs(30), Duration::from_millis(300));
        assert!(matches!(r, Err(WatchStop::Livelock(_))), "{r:?}");
        assert!(t.elapsed() < Duration::from_secs(5));
        drop(tx);
    }

    #[test]
    fn the_watchdog_returns_the_result_and_honours_the_wall_limit() {
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(7).unwrap();
        let p = Progress::default();
        assert_eq!(await_result(&rx, &p, Duration::from_secs(5), LIVELOCK_WALL), Ok(7));
        let (_tx2, rx2) = std::sync::mpsc::channel::<u8>();
        let r = await_result(&rx2, &p, Duration::from_millis(300), LIVELOCK_WALL);
        assert_eq!(r, Err(WatchStop::WallLimit));
    }

    #[test]
    fn moving_virtual_time_is_not_a_livelock() {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = std::sync::Arc::new(Progress::default());
        let p2 = p.clone();
        let h = std::thread::spawn(move || {
            for i in 1..=10u64 {
                p2.set(i * 10, String::new);
                std::thread::sleep(Duration::from_millis(60));
            }
            tx.send(1).unwrap();
        });
        let r = await_result(&rx, &p, Duration::from_secs(10), Duration::from_millis(300));
        assert_eq!(r, Ok(1));
        h.join().unwrap();
    }
}
