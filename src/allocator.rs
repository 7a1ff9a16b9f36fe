//! The allocator of the command line (and of `cargo xtask`, which includes this
//! file), and how soon it gives freed memory back.
//!
//! Every hop of a run allocates and frees small batches and messages; mimalloc
//! serves those from per-size free lists where glibc's malloc spent about a
//! sixth of a run's time (docs/performance-history.md, "The allocator"). It
//! changes no result: the simulation never depends on addresses.

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_option_set, mi_option_t, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

#[global_allocator]
static GLOBAL: Mimalloc = Mimalloc;

/// The alignment every mimalloc block has (a machine word): its size classes are
/// whole words.
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc, asked for alignment only when a type needs more than a word.
///
/// The `mimalloc` crate's allocator passes every request through mimalloc's
/// aligned entry points, which check and re-dispatch before reaching the same
/// free lists: 47 instructions an allocation, against 25 through the plain one.
/// A run makes tens of millions of them, nearly all with an alignment of a word
/// or less (docs/performance-history.md, "Allocations without the aligned path").
struct Mimalloc;

// SAFETY: every block comes from mimalloc and goes back to it (`mi_free` frees
// blocks of either entry point); a request for more than a word's alignment takes
// the aligned entry point, and smaller ones are met by every mimalloc block.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi_malloc(layout.size()).cast()
        } else {
            mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi_zalloc(layout.size()).cast()
        } else {
            mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi_free(ptr.cast::<c_void>());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= WORD {
            mi_realloc(ptr.cast::<c_void>(), new_size).cast()
        } else {
            mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
        }
    }
}

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
/// busiest 25 minutes (docs/performance-history.md, "Freed pages given back at once, no
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

    /// Every alignment from a byte to a page, with sizes below, at and above it:
    /// each block is aligned as asked, zeroed when asked, and keeps its bytes and
    /// its alignment through a reallocation that grows it past its size class.
    #[test]
    fn blocks_are_aligned_as_asked_and_keep_their_bytes() {
        for shift in 0..=12 {
            let align = 1usize << shift;
            for size in [1, 3, align, align + 8, 3 * align + 5, 5000] {
                let layout = Layout::from_size_align(size, align).expect("valid layout");
                // SAFETY: the layouts have a non-zero size; each block is freed once
                // with the layout it was allocated or reallocated with.
                unsafe {
                    let zeroed = GLOBAL.alloc_zeroed(layout);
                    assert!(!zeroed.is_null());
                    assert_eq!(zeroed as usize % align, 0, "zeroed {size} bytes at {align}");
                    assert!(std::slice::from_raw_parts(zeroed, size).iter().all(|&b| b == 0));
                    GLOBAL.dealloc(zeroed, layout);

                    let p = GLOBAL.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "{size} bytes at {align}");
                    for i in 0..size {
                        *p.add(i) = i as u8;
                    }
                    let grown = size * 3 + 4096;
                    let q = GLOBAL.realloc(p, layout, grown);
                    assert!(!q.is_null());
                    assert_eq!(q as usize % align, 0, "{size} grown to {grown} at {align}");
                    assert!((0..size).all(|i| *q.add(i) == i as u8), "{size} bytes at {align} kept");
                    GLOBAL.dealloc(q, Layout::from_size_align(grown, align).expect("valid layout"));
                }
            }
        }
    }

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
