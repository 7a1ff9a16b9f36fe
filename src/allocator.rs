//! The allocator of the command line (and of `cargo xtask`, which includes this
//! file), and how soon it gives freed memory back.
//!
//! Every hop of a run allocates and frees small batches and messages; mimalloc
//! serves those from per-size free lists where glibc's malloc spent about a
//! sixth of a run's time (docs/PERFORMANCE.md). It changes no result: the
//! simulation never depends on addresses.

#[cfg(test)]
use libmimalloc_sys::mi_option_get;
use libmimalloc_sys::{mi_option_set, mi_option_t};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 2.x's `mi_option_e` (`mimalloc.h`): the
/// Rust bindings name the options around it but not this one.
const PURGE_DELAY: mi_option_t = 15;

/// Give freed pages back to the system at once rather than 10 ms later (100 ms
/// for whole arenas). At a day's peak rate a run frees and reallocates its
/// in-flight records continually, and the delayed purges held 12 MiB more
/// resident at the peak of the busiest 25 minutes of the billion-event day
/// (158 against 146 MiB), for the same CPU time (docs/PERFORMANCE.md,
/// "Freed pages given back at once").
pub fn give_back_freed_pages_at_once() {
    // SAFETY: an option is a plain integer mimalloc reads on each use. The binaries
    // set it first thing in `main`; elsewhere a concurrent read sees the old or new value.
    unsafe { mi_option_set(PURGE_DELAY, 0) }
}

/// The purge delay in force, in milliseconds.
#[cfg(test)]
fn purge_delay_ms() -> std::ffi::c_long {
    // SAFETY: reading an option has no precondition.
    unsafe { mi_option_get(PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // mimalloc's documented default for the purge delay is 10 ms, and its neighbours
        // in the enum have other defaults (1 and 0): a wrong index would read another option.
        let env_set = [
            "MIMALLOC_EAGER_COMMIT_DELAY",
            "MIMALLOC_PURGE_DELAY",
            "MIMALLOC_USE_NUMA_NODES",
        ]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
        if !env_set {
            // SAFETY: reading an option has no precondition.
            let around = unsafe { (mi_option_get(PURGE_DELAY - 1), mi_option_get(PURGE_DELAY + 1)) };
            assert_eq!((around.0, purge_delay_ms(), around.1), (1, 10, 0));
        }
        give_back_freed_pages_at_once();
        assert_eq!(purge_delay_ms(), 0);
    }
}
