//! Virtual time helpers. madsim's clock starts at zero for every runtime.
//! Messages are delivered at microsecond resolution (the fabric sets exact
//! deadlines); nodes' own timers (lingers, heartbeats, timeouts) are in
//! milliseconds.

use madsim::time::{Duration, Instant, TimeHandle};
use std::cell::RefCell;

thread_local! {
    /// The running simulation's clock, bound for the run's thread: reading the
    /// time is the simulation's most frequent call, and looking the handle up
    /// in madsim's context clones two `Arc`s each time.
    static BOUND: RefCell<Option<TimeHandle>> = const { RefCell::new(None) };
}

/// Keeps the current runtime's clock bound to this thread until dropped.
pub struct Bound(());

impl Drop for Bound {
    fn drop(&mut self) {
        BOUND.with(|b| b.borrow_mut().take());
    }
}

/// Bind the current runtime's clock to this thread for the life of the guard.
pub fn bind() -> Bound {
    BOUND.with(|b| *b.borrow_mut() = Some(TimeHandle::current()));
    Bound(())
}

/// Microseconds since the runtime started.
pub fn now_us() -> u64 {
    BOUND.with(|b| match &*b.borrow() {
        Some(h) => h.elapsed().as_micros() as u64,
        None => TimeHandle::current().elapsed().as_micros() as u64,
    })
}

/// Milliseconds since the runtime started (the current tick).
pub fn now_ms() -> u64 {
    now_us() / 1000
}

/// The `Instant` of a virtual millisecond, for madsim's `sleep_until`.
pub fn instant_at_ms(ms: u64) -> Instant {
    let h = TimeHandle::current();
    let base = h.now_instant() - h.elapsed();
    base + Duration::from_millis(ms)
}

/// The `Instant` of a virtual microsecond.
pub fn instant_at_us(us: u64) -> Instant {
    let h = TimeHandle::current();
    let base = h.now_instant() - h.elapsed();
    base + Duration::from_micros(us)
}

/// Sleep until a virtual millisecond (at least one tick, as madsim requires).
pub async fn sleep_until_ms(ms: u64) {
    madsim::time::sleep_until(instant_at_ms(ms)).await
}
