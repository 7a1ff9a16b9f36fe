//! Virtual time helpers. madsim's clock starts at zero for every runtime;
//! the simulation speaks in milliseconds (the tick) and microseconds (the
//! resource model's finer accounting).

use madsim::time::{Duration, Instant, TimeHandle};

/// Microseconds since the runtime started.
pub fn now_us() -> u64 {
    TimeHandle::current().elapsed().as_micros() as u64
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

/// Sleep until a virtual millisecond (at least one tick, as madsim requires).
pub async fn sleep_until_ms(ms: u64) {
    madsim::time::sleep_until(instant_at_ms(ms)).await
}
