//! Virtual time helpers. madsim's clock starts at zero for every runtime.
//! Messages are delivered at microsecond resolution (the fabric sets exact
//! deadlines); nodes' own timers (lingers, heartbeats, timeouts) are in
//! milliseconds.

use madsim::time::{Duration, Instant, TimeHandle};
use std::cell::RefCell;

thread_local! {
    /// The running simulation's clock, bound for the run's thread, with the
    /// instant its virtual time counts from: reading the time and setting
    /// timers are the simulation's most frequent calls, and looking the
    /// handle up in madsim's context clones two `Arc`s each time.
    static BOUND: RefCell<Option<(TimeHandle, Instant)>> = const { RefCell::new(None) };
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
    let h = TimeHandle::current();
    let base = start_of(&h);
    BOUND.with(|b| *b.borrow_mut() = Some((h, base)));
    Bound(())
}

/// The instant a runtime's virtual time counts from (fixed for the runtime).
pub(crate) fn start_of(h: &TimeHandle) -> Instant {
    h.now_instant() - h.elapsed()
}

/// Microseconds since the runtime started.
pub fn now_us() -> u64 {
    BOUND.with(|b| match &*b.borrow() {
        Some((h, _)) => h.elapsed().as_micros() as u64,
        None => TimeHandle::current().elapsed().as_micros() as u64,
    })
}

/// Milliseconds since the runtime started (the current tick).
pub fn now_ms() -> u64 {
    now_us() / 1000
}

/// The `Instant` of a virtual millisecond, for madsim's `sleep_until`.
pub fn instant_at_ms(ms: u64) -> Instant {
    start() + Duration::from_millis(ms)
}

/// The instant the running simulation's virtual time counts from.
fn start() -> Instant {
    let base = BOUND.with(|b| b.borrow().as_ref().map(|(_, base)| *base));
    base.unwrap_or_else(|| start_of(&TimeHandle::current()))
}

/// Sleep until a virtual millisecond (at least one tick, as madsim requires).
pub async fn sleep_until_ms(ms: u64) {
    madsim::time::sleep_until(instant_at_ms(ms)).await
}
