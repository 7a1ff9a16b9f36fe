//! The allocator of the command line (and of `cargo xtask`, which includes this
//! file), and how soon it gives freed memory back.
//!
//! Every hop of a run allocates and frees small batches and messages; mimalloc
//! serves those from per-size free lists where glibc's malloc spent about a
//! sixth of a run's time (docs/PERFORMANCE.md). It changes no result: the
//! simulation never depends on addresses.

use libmimalloc_sys::{mi_option_set, mi_option_t};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 2.x's `mi_option_e` (`mimalloc.h`): the
/// Rust bindings name the options around it but not this one.
const PURGE_DELAY: mi_option_t = 15;

/// Hold less memory the allocator has no use for, for no measurable CPU:
///
/// * Give freed pages back to the system at once rather than 10 ms later (100 ms
///   for whole arenas). At a day's peak rate a run frees and reallocates its
///   in-flight records continually, and pages waiting out the delay are resident.
/// * No transparent huge pages: where the system grants them on request, mimalloc
///   asks for them, and a 2 MiB page is resident however little of it is in use.
///   mimalloc's own option for this acts only when it starts, before `main`, so
///   the process turns them off itself (what that option does on Linux).
///
/// Together they take a tenth off the resident peak of the billion-event day's
/// busiest 25 minutes (docs/PERFORMANCE.md, "Freed pages given back at once, no
/// huge pages").
pub fn hold_less_memory() {
    // SAFETY: an option is a plain integer mimalloc reads on each use. The binaries
    // set it first thing in `main`; elsewhere a concurrent read sees the old or new value.
    unsafe { mi_option_set(PURGE_DELAY, 0) };
    #[cfg(target_os = "linux")]
    // SAFETY: this prctl only sets a flag of the calling process; it fails harmlessly
    // on a kernel without it.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0)
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use libmimalloc_sys::mi_option_get;

    #[test]
    fn the_option_set_is_the_one_meant_and_huge_pages_are_off() {
        // The option's neighbours in the enum have other documented defaults, so a wrong
        // index reads another option: eager_commit_delay 1, purge_delay 10, use_numa_nodes 0.
        let get = |o: mi_option_t| {
            // SAFETY: reading an option has no precondition.
            unsafe { mi_option_get(o) }
        };
        let from_env = ["EAGER_COMMIT_DELAY", "PURGE_DELAY", "USE_NUMA_NODES"]
            .iter()
            .any(|v| std::env::var_os(format!("MIMALLOC_{v}")).is_some());
        if !from_env {
            assert_eq!(
                (get(PURGE_DELAY - 1), get(PURGE_DELAY), get(PURGE_DELAY + 1)),
                (1, 10, 0)
            );
        }
        hold_less_memory();
        assert_eq!(get(PURGE_DELAY), 0);
        #[cfg(target_os = "linux")]
        {
            // SAFETY: reading the process's flag has no precondition.
            let thp_disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
            assert_eq!(thp_disabled, 1);
        }
    }
}
